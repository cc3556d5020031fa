import Foundation
import Glibc
import Logging

/// Watches scripts/ and plugins/ with inotify and calls `onChange` once the folder has been quiet for
/// `debounce` seconds. Editors save in several writes or by writing a temporary file and renaming it
/// over the original; reloading on the first event would compile half a file or see the script
/// missing for a moment, so every burst of events becomes one reload. Written on inotify directly
/// because no package on this machine wraps it and polling mtimes would cost the 500 ms budget.
public final class ScriptWatcher: @unchecked Sendable {
    let folders: [URL]
    let debounce: Double
    let log: Logger

    public init(folders: [URL], debounce: Double = 0.05, log: Logger) {
        self.folders = folders
        self.debounce = debounce
        self.log = log
    }

    /// Runs until `stop`; calls `onChange` on this thread after each quiet burst of changes.
    /// `onWatching` is called once the folders are watched: an edit after it is seen.
    public func run(stop: StopFlag, onWatching: () -> Void = {}, onChange: () -> Void) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            log.error("file watching is unavailable (inotify_init1 failed: errno \(errno)); edits need `blacklight deploy`")
            return
        }
        defer { close(fd) }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB)
        for folder in folders {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            if inotify_add_watch(fd, folder.path, mask) < 0 {
                log.error("cannot watch \(folder.path) (errno \(errno))")
            }
        }
        onWatching()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var pendingSince: Date?
        while !stop.isStopped {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let timeoutMs: Int32 = pendingSince == nil ? 200 : Int32(max(1, debounce * 1000 / 2))
            let ready = poll(&pfd, 1, timeoutMs)
            if ready > 0 {
                var relevant = false
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    relevant = relevant || Self.containsLuaEvent(buffer, count: n)
                }
                if relevant { pendingSince = Date() }
            } else if let since = pendingSince, Date().timeIntervalSince(since) >= debounce {
                pendingSince = nil
                onChange()
            }
        }
    }

    /// True when any event in the buffer names a .lua file (editor swap and backup files are ignored).
    static func containsLuaEvent(_ buffer: [UInt8], count: Int) -> Bool {
        var offset = 0
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= count {
            let length = buffer.withUnsafeBytes { raw in
                Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self))
            }
            let nameStart = offset + header
            let nameEnd = min(count, nameStart + length)
            if length > 0 {
                let nameBytes = buffer[nameStart..<nameEnd].prefix { $0 != 0 }
                let name = String(decoding: nameBytes, as: UTF8.self)
                if name.hasSuffix(".lua") && !name.hasPrefix(".") { return true }
            }
            offset = nameStart + length
        }
        return false
    }
}
