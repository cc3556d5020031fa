import Foundation
import Logging
import PGStore

/// The pruner thread of `serve` and `dev`: a pass every `interval`, in one process at a time.
/// Any number of processes may run one; a session advisory lock lets one prune while the others
/// skip that pass (two pruners would only skip each other's locked rows, but would double the load).
public final class RetentionLoop {
    /// The advisory lock held during a pass. The one-bigint key space does not overlap the two-int
    /// keys the engine uses elsewhere (wait/ingest per event name, concurrency slots).
    public static let advisoryLockKey: Int64 = 0x626C_7072_756E_6501  // "blprune" + 1

    let url: String
    let retention: Double
    let interval: Double
    let log: Logger
    var pruner = Pruner()

    public init(url: String, retention: Double, interval: Double = RetentionPolicy.interval, log: Logger) {
        self.url = url
        self.retention = retention
        self.interval = interval
        self.log = log
    }

    /// Runs a pass at once, then one every `interval`, until `stop`. `wake` ends the wait early
    /// (the process broadcasts it on stop).
    public func run(stop: StopFlag, wake: WakeSignal) {
        var next = Date()
        while !stop.isStopped {
            if Date() >= next {
                do {
                    _ = try pass(stop: stop)
                } catch {
                    log.error("retention: \(error)")
                }
                next = Date().addingTimeInterval(interval)
            }
            wake.wait(timeout: next.timeIntervalSinceNow)
        }
    }

    /// One pass on its own connection; nil when another process holds the lock.
    @discardableResult
    public func pass(stop: StopFlag? = nil) throws -> PruneCounts? {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let locked = try conn.query("SELECT pg_try_advisory_lock($1::bigint) AS ok", [.int(Self.advisoryLockKey)])
            .rows.first?["ok"].boolValue ?? false
        guard locked else { return nil }
        // Closing the connection releases the lock too; unlocking first keeps it short if close lags.
        defer { _ = try? conn.exec("SELECT pg_advisory_unlock($1::bigint)", [.int(Self.advisoryLockKey)]) }
        let started = Date()
        let counts = try pruner.prune(olderThan: retention, conn: conn, stop: stop)
        if counts.total > 0 {
            log.info("retention: deleted \(counts.summary) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        }
        return counts
    }
}
