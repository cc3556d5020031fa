import Foundation

/// A `blacklight serve` or `worker` child of the chaos bench: this same executable, its output appended to a log
/// file (kept for a look after a bad result), SIGKILLed and started again on demand.
final class ChaosChild {
    let arguments: [String]
    let logFile: URL
    private var process: Process?

    init(_ arguments: [String], logFile: URL) {
        self.arguments = arguments
        self.logFile = logFile
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
    }

    static var executable: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath() }

    func start() throws {
        let p = Process()
        p.executableURL = Self.executable
        p.arguments = arguments
        // The bench's own server on loopback: the dev server's rules (no keys) instead of making up keys.
        p.environment = ProcessInfo.processInfo.environment.merging(["INNGEST_DEV": "1"]) { _, new in new }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        p.standardOutput = log
        p.standardError = log
        try p.run()
        process = p
    }

    /// SIGKILL: no shutdown, no ROLLBACK sent, leases left to expire.
    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM and wait: workers finish their leased runs.
    func stop() {
        guard let p = process else { return }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
    }

    var isRunning: Bool { process?.isRunning ?? false }
}
