import Foundation
import PGStore
import Synchronization

/// Makes sure a test process leaves no PostgreSQL running: an atexit hook stops every cluster TestSupport made
/// and deletes the process's directory; signal handlers cover Ctrl-C, SIGTERM and crashes; and the first use in
/// a later process sweeps directories of processes that died without either (SIGKILL, power loss).
enum TestCleanup {
    static let runDirectory = URL(fileURLWithPath: "/tmp/blacklight-test-\(getpid())")

    private static let clusters = Mutex<[EmbeddedCluster]>([])
    private static let installed = Atomic<Bool>(false)

    static func register(_ cluster: EmbeddedCluster) {
        clusters.withLock { $0.append(cluster) }
        SignalGuard.watch(pidFile: cluster.directory.appendingPathComponent("data/postmaster.pid").path)
    }

    static func installOnce() {
        guard installed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        atexit { TestCleanup.cleanUpAtExit() }
        SignalGuard.install()
    }

    /// atexit: stop every cluster (fast shutdown, waiting for it) and delete the directory.
    static func cleanUpAtExit() {
        let all = clusters.withLock { $0 }
        for cluster in all { cluster.stop() }
        try? FileManager.default.removeItem(at: runDirectory)
    }

    /// Stops servers in `/tmp/blacklight-test-<pid>` folders whose process is gone, and deletes the folders.
    static func sweepStaleRuns() {
        let tmp = URL(fileURLWithPath: "/tmp")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? []
        for name in names where name.hasPrefix("blacklight-test-") {
            guard let pid = pid_t(name.dropFirst("blacklight-test-".count)), pid != getpid() else { continue }
            if isAlive(pid) { continue }
            let folder = tmp.appendingPathComponent(name)
            let clusters = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for sub in clusters {
                EmbeddedCluster(directory: folder.appendingPathComponent(sub)).stop()
            }
            try? FileManager.default.removeItem(at: folder)
        }
    }

    /// Whether `pid` is a live process. A zombie counts as dead: a killed test process stays one until its
    /// parent reaps it, and its servers must still be swept.
    private static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.endIndex
        else { return true }
        return stat[close + 2] != UInt8(ascii: "Z")
    }
}
