import Foundation
import Synchronization

/// Signal handlers that ask the test clusters' postmasters to shut down when the test process is interrupted
/// (SIGINT, SIGTERM, SIGHUP) or crashes (SIGABRT, SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGFPE), then hand the signal
/// to whatever handled it before (the default action, or Swift's backtracer), so crash reports stay intact.
///
/// Inside a handler only async-signal-safe calls are allowed: the postmaster.pid paths are prepared as C strings
/// beforehand, and the handler only does open/read/close/kill/sigaction/raise on preallocated memory.
enum SignalGuard {
    private static let capacity = 32
    /// NUL-terminated postmaster.pid paths, written before `count` is published.
    nonisolated(unsafe) private static let paths = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(
        capacity: capacity)
    private static let count = Atomic<Int>(0)
    private static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGSEGV, SIGILL, SIGTRAP, SIGBUS, SIGFPE]
    /// The handlers that were installed before ours, indexed by signal number.
    nonisolated(unsafe) private static let previous = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
    nonisolated(unsafe) private static let readBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)

    static func watch(pidFile: String) {
        let slot = count.load(ordering: .acquiring)
        guard slot < capacity else { return }
        paths[slot] = strdup(pidFile)
        count.store(slot + 1, ordering: .releasing)
    }

    static func install() {
        // Touch every static now: they are initialised lazily, and initialisation may allocate, which a signal
        // handler must not do.
        _ = (paths, count.load(ordering: .relaxed), previous, readBuffer)
        for sig in signals {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = { sig in SignalGuard.handle(sig) }
            #else
            action.__sigaction_u.__sa_handler = { sig in SignalGuard.handle(sig) }
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, previous + Int(sig))
        }
    }

    private static func handle(_ sig: Int32) {
        let n = count.load(ordering: .acquiring)
        for i in 0..<n {
            guard let path = paths[i] else { continue }
            let fd = open(path, O_RDONLY)
            if fd < 0 { continue }
            let got = read(fd, readBuffer, 63)
            close(fd)
            var pid: Int32 = 0
            var j = 0
            while j < got, readBuffer[j] >= 48, readBuffer[j] <= 57 {
                pid = pid &* 10 &+ Int32(readBuffer[j] - 48)
                j += 1
            }
            // SIGINT = fast shutdown; the postmaster finishes it on its own after we are gone.
            if pid > 0 { kill(pid, SIGINT) }
        }
        // Re-deliver to the previous handler: the signal is blocked while we run, so raise() queues it and it
        // is taken as soon as this handler returns.
        sigaction(sig, previous + Int(sig), nil)
        raise(sig)
    }
}
