import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A process running on a pseudo-terminal, for driving `blacklight repl` the way a person does:
/// keys go in through the master side, and the screen text comes back (escape sequences and
/// carriage returns stripped).
final class PseudoTerminal {
    let process = Process()
    private let master: Int32
    private(set) var raw = ""
    /// Where the next `expect` starts looking.
    private var mark: String.Index

    init(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws {
        master = Self.libc.openpt(O_RDWR | O_NOCTTY)
        var name = [CChar](repeating: 0, count: 128)
        guard master >= 0, Self.libc.grant(master) == 0, Self.libc.unlock(master) == 0,
              Self.libc.name(master, &name, name.count) == 0 else {
            throw POSIXError(.ENOTTY)
        }
        let slave = open(name, O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw POSIXError(.ENOTTY) }
        var size = winsize(ws_row: 40, ws_col: 160, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["TERM"] = "xterm"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let handle = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process.standardInput = handle
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        mark = raw.startIndex
    }

    /// Swift's Glibc module leaves out the XSI pseudo-terminal functions (they need _XOPEN_SOURCE),
    /// so they are looked up in libc by name.
    private struct PTYFunctions {
        typealias FD = @convention(c) (Int32) -> Int32
        typealias Name = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
        let openpt: FD, grant: FD, unlock: FD, name: Name

        init() {
            func symbol<T>(_ name: String, _: T.Type) -> T {
                guard let p = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { fatalError("libc has no \(name)") }
                return unsafeBitCast(p, to: T.self)
            }
            openpt = symbol("posix_openpt", FD.self)
            grant = symbol("grantpt", FD.self)
            unlock = symbol("unlockpt", FD.self)
            name = symbol("ptsname_r", Name.self)
        }
    }

    private static let libc = PTYFunctions()

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        close(master)
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// The screen text received so far.
    var text: String { Self.clean(raw) }

    /// Waits until the output after the last match contains `needle`; returns the text up to and
    /// including it (cleaned) and moves past it.
    @discardableResult
    func expect(_ needle: String, timeout: Double = 20) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let cleaned = Self.clean(String(raw[mark...]))
            if let range = cleaned.range(of: needle) {
                // Move the mark past the match in the raw text: find how much raw text produces it.
                advanceMark(toCleanedPrefix: String(cleaned[..<range.upperBound]))
                return String(cleaned[..<range.upperBound])
            }
            if Date() > deadline { return nil }
            pump(timeout: min(0.2, max(0.01, deadline.timeIntervalSinceNow)))
        }
    }

    /// Forgets output not looked at yet (after a short read), so the next `expect` sees only what
    /// comes after.
    func skipPending() {
        pump(timeout: 0.05)
        mark = raw.endIndex
    }

    /// Reads what is available for up to `timeout` seconds.
    func pump(timeout: Double) {
        var fds = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&fds, 1, Int32(timeout * 1000)) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(master, &buffer, buffer.count)
        if n > 0 { raw += String(decoding: buffer[0..<n], as: UTF8.self) }
    }

    func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { pump(timeout: 0.05) }
        return process.isRunning ? nil : process.terminationStatus
    }

    private func advanceMark(toCleanedPrefix prefix: String) {
        var index = mark
        while index < raw.endIndex {
            index = raw.index(after: index)
            if Self.clean(String(raw[mark..<index])).count >= prefix.count { break }
        }
        mark = index
    }

    /// Drops ANSI escape sequences and carriage returns; the line editor redraws with both.
    static func clean(_ s: String) -> String {
        var out = ""
        var iterator = s.unicodeScalars.makeIterator()
        while let c = iterator.next() {
            if c == "\u{1b}" {
                guard let next = iterator.next() else { break }
                if next == "[" || next == "O" {
                    while let t = iterator.next(), !(t.value >= 0x40 && t.value <= 0x7e) {}
                }
                continue
            }
            if c == "\r" { continue }
            out.unicodeScalars.append(c)
        }
        return out
    }
}
