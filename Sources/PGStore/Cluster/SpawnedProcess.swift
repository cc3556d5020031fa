import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, its exit observed with `waitpid`.
///
/// Not Foundation's `Process`: on Linux it learns that a child exited when a socket the child inherits closes,
/// so a child that another process's child happens to inherit that socket from (a spawn racing with ours on
/// another thread, a grandchild) keeps `waitUntilExit()` waiting for as long as the other one lives. A test run
/// hung for half an hour on it. Here the child gets stdin (/dev/null), stdout and stderr (one file, or
/// /dev/null) and nothing else: every other descriptor is closed in the child (`closefrom`, atomic with the spawn).
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var exitCode: Int32?

    /// - Parameters:
    ///   - outputPath: a file that receives stdout and stderr (created or truncated); nil: /dev/null.
    ///   - environment: the child's whole environment.
    public init(executable: String, arguments: [String], environment: [String: String], outputPath: String?,
                workingDirectory: String? = nil) throws(PGError) {
        let outputFD = open(outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard outputFD >= 0 else {
            throw PGError(code: .clusterSetup, message: "cannot open \(outputPath ?? "/dev/null"): \(PortPicker.errnoText())")
        }
        defer { close(outputFD) }
        pid = try Spawn.spawn(executable, [executable] + arguments, environment, outputFD: outputFD,
                              workingDirectory: workingDirectory)
    }

    /// Whether the child has not exited yet (reaps it if it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return reap(blocking: false) == nil
    }

    /// Waits for the child to exit; its exit code, or 128 + the signal that ended it (-1 if it can no longer be
    /// waited for: something else in this process reaped it).
    @discardableResult
    public func waitUntilExit() -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        // Blocking under the lock: `isRunning` from another thread waits with it, and answers false after.
        return reap(blocking: true) ?? -1
    }

    /// The exit code once the child has exited (see `waitUntilExit`), nil while it runs.
    public var terminationStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return reap(blocking: false)
    }

    public func signal(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        // Never signal a pid we already reaped: the kernel may have given it to another process.
        if exitCode == nil { kill(pid, signal) }
    }

    /// SIGTERM, then waits.
    public func terminate() {
        signal(SIGTERM)
        waitUntilExit()
    }

    /// SIGKILL, then waits.
    public func kill9() {
        signal(SIGKILL)
        waitUntilExit()
    }

    /// A child outlives no one: whatever still runs is killed and reaped.
    deinit { kill9() }

    /// Caller holds the lock.
    private func reap(blocking: Bool) -> Int32? {
        if let exitCode { return exitCode }
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if r == 0 { return nil }
            if r < 0 {
                if errno == EINTR { continue }
                exitCode = -1  // not our child any more (ECHILD): nothing left to wait for
                return exitCode
            }
            // WIFEXITED / WEXITSTATUS are macros Swift cannot import: low 7 bits = terminating signal, else exit code.
            exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            return exitCode
        }
    }
}
