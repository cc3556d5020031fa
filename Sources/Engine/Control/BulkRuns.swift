import BlacklightCore
import Foundation
import PGStore

/// Cancel or replay every run a `RunFilter` matches, for `POST /api/runs/cancel|replay`, `blacklight runs
/// cancel|replay` and the dashboard's runs page.
///
/// Both work in chunks of `chunk` runs, one short transaction each, walking the runs in id order, and take only
/// runs created before the call started: runs that arrive meanwhile (a replay's own runs among them) are never
/// taken, so a call ends however busy the queue is. A call cut short (the process dies) keeps the chunks it
/// committed; the count it returns is what it did.
public struct BulkRuns {
    /// Runs per transaction: long enough to amortise a commit, short enough that no chunk holds row locks a
    /// worker would wait on for long.
    public var chunk = 1_000

    /// Replayed runs per second when the caller names no rate. Replayed runs are due one after another at this
    /// rate from the call on (their run_at spread), and the claim takes runs in run_at order, so a new event's
    /// run (due when it is created) waits only behind the replayed runs already due, never behind the whole
    /// replay. Below what the workers drain, new events see no queue; above it, the replay backs up and new
    /// events wait behind the backlog (measured in `blacklight bench replay`).
    public static let defaultReplayRate = 1_000.0

    /// How replayed runs become due.
    public enum Pace: Sendable, Equatable {
        /// The default: the runs wait parked (at idle priority) and each claim that finds fewer due runs than it
        /// could take releases that many of them, oldest first (0008's claim_runs). The replay so follows what the
        /// workers drain: new events never queue behind it, however fast or slow the drain is.
        case spareCapacity
        /// The i-th replayed run is due i / rate seconds after the call.
        case perSecond(Double)
        /// All due at once.
        case allAtOnce
    }

    public init() {}

    public struct Outcome: Sendable, Equatable {
        /// Runs cancelled or replayed (for a dry run: that would be).
        public var count: Int
        /// Replay only: seconds from the call until the last replayed run is due (nil: all due at once).
        public var spreadSeconds: Double?

        public init(count: Int, spreadSeconds: Double? = nil) {
            self.count = count
            self.spreadSeconds = spreadSeconds
        }
    }

    static let live = "('queued','running','sleeping','waiting')"
    static let ended = "('completed','failed','cancelled')"

    /// What `cancel` would take now: matching runs that have not ended.
    public func countCancellable(_ filter: RunFilter, conn: PGConnection) throws -> Int {
        try count(filter, "r.status IN \(Self.live)", conn: conn)
    }

    /// What `replay` would take now: matching runs that ended (on_failure handler runs aside, see `replay`).
    public func countReplayable(_ filter: RunFilter, conn: PGConnection) throws -> Int {
        try count(filter, "r.status IN \(Self.ended) AND r.kind = 'run'", conn: conn)
    }

    private func count(_ filter: RunFilter, _ condition: String, conn: PGConnection) throws -> Int {
        let r = try conn.query("SELECT count(*) FROM blacklight.runs r WHERE \(RunFilter.condition) AND \(condition)", filter.binds)
        return Int(r.scalar.intValue ?? 0)
    }

    /// Cancels every matching run that has not ended, with the single cancel's semantics (`RunControl.cancel`):
    /// queued, sleeping and waiting runs end as cancelled at once, a running run at its next step boundary.
    /// Ended runs are not touched. Runs a worker's open batch transaction holds are skipped while the rest is
    /// cancelled, then get a cancel request (`blacklight.cancel_runs`): the worker starts no further step of them and
    /// writes them cancelled, and this call does not wait for it.
    public func cancel(_ filter: RunFilter, conn: PGConnection) throws -> Outcome {
        let started = try startTime(conn)
        var total = 0
        for sql in [Self.cancelChunk(skipLocked: true), Self.requestChunk] {
            while true {
                let n = Int(try conn.query(sql, filter.binds + [.timestamp(started), .int(Int64(chunk))]).scalar.intValue ?? 0)
                total += n
                if n == 0 { break }
            }
        }
        return Outcome(count: total, spreadSeconds: nil)
    }

    /// The runs left after the first pass (held by a worker): cancel requests, each run once.
    static let requestChunk = """
        SELECT blacklight.cancel_runs(array_agg(id), array_agg(jsonb_build_object('message', 'cancelled')))
        FROM (SELECT r.id FROM blacklight.runs r
              WHERE \(RunFilter.condition) AND r.status IN \(live) AND r.created_at <= $7
                AND NOT EXISTS (SELECT 1 FROM blacklight.cancel_requests c WHERE c.run_id = r.id)
              ORDER BY r.id LIMIT $8) v
        """

    /// `FOR NO KEY UPDATE`, not `FOR UPDATE`: a batch inserting step rows holds a key-share lock on their run
    /// (the foreign key), which `FOR UPDATE` would wait on and `NO KEY UPDATE` does not.
    static func cancelChunk(skipLocked: Bool) -> String {
        """
        WITH victims AS (
            SELECT r.id FROM blacklight.runs r
            WHERE \(RunFilter.condition) AND r.status IN \(live) AND r.created_at <= $7
            ORDER BY r.id LIMIT $8
            FOR NO KEY UPDATE\(skipLocked ? " SKIP LOCKED" : "")
        ), done AS (
            UPDATE blacklight.runs r SET \(RunControl.cancelledColumns)
            FROM victims v WHERE r.id = v.id AND r.status IN \(live)
            RETURNING r.id
        ), unwaited AS (
            DELETE FROM blacklight.waits w USING done WHERE w.run_id = done.id
        )
        SELECT count(*) FROM done
        """
    }

    /// Replays every matching run that ended: for each, what `RunControl.rerun` does (a new run of the same
    /// function for the same event, on the function's active version). Runs that have not ended are not
    /// replayed (a second copy of live work is not what a replay is for), nor `on_failure` handler runs (a
    /// replayed run that fails again starts its handler itself).
    ///
    /// Paced (`Pace`): by default at the workers' spare capacity, so new events keep being served while thousands of
    /// runs are replayed; or at a fixed rate; or all at once.
    public func replay(_ filter: RunFilter, rate: Double?, conn: PGConnection) throws -> Outcome {
        try replay(filter, pace: rate.map { .perSecond($0) } ?? .allAtOnce, conn: conn)
    }

    public func replay(_ filter: RunFilter, pace: Pace = .spareCapacity, conn: PGConnection) throws -> Outcome {
        var rate: Double?
        if case .perSecond(let r) = pace {
            guard r.isFinite, r > 0 else {
                throw EngineError(.badInput, "'rate' must be a positive number of runs per second", context: "rate")
            }
            rate = r
        }
        let idle = pace == .spareCapacity
        let started = try startTime(conn)
        var total = 0
        var after = ""
        while true {
            let ids = (0..<chunk).map { _ in ULID.make() }.sorted()
            let r = try conn.query(Self.replayChunk, filter.binds + [
                .timestamp(started), .text(after), .int(Int64(chunk)), .array(ids.map { .text($0) }),
                .int(Int64(total)), rate.map { .double($0) } ?? .null, .bool(idle),
            ])
            let n = Int(r.rows.first?["n"].intValue ?? 0)
            if n > 0 { try conn.exec("SELECT pg_notify('blacklight_runs', '')") }
            total += n
            guard n == chunk, let last = r.rows.first?["last"].stringValue else { break }
            after = last
        }
        return Outcome(count: total, spreadSeconds: rate.map { Double(max(total - 1, 0)) / $0 })
    }

    /// `$7` the call's start (only runs created before it), `$8` the last source id of the previous chunk, `$9` the
    /// chunk size, `$10` the new runs' ids (made in Swift, cheaper than `blacklight.ulid()` per row), `$11` how
    /// many runs earlier chunks replayed, `$12` the rate (NULL: no spread), `$13` idle priority (parked at 'infinity'
    /// with their order in parked_run_at, released by claims with spare room).
    static let replayChunk = """
        WITH src AS (
            SELECT r.id, r.function_id, r.version, r.kind, r.parent_run_id, r.event_id, r.max_attempts, r.concurrency_key,
                   row_number() OVER (ORDER BY r.id) AS n
            FROM blacklight.runs r
            WHERE \(RunFilter.condition) AND r.status IN \(ended) AND r.kind = 'run' AND r.created_at <= $7 AND r.id > $8
            ORDER BY r.id LIMIT $9
        ), ins AS (
            INSERT INTO blacklight.runs (id, function_id, version, kind, parent_run_id, event_id, max_attempts,
                                         concurrency_key, run_at, idle_priority, parked_run_at)
            SELECT ($10::text[])[s.n], s.function_id, coalesce(f.active_version, s.version), s.kind, s.parent_run_id,
                   s.event_id, coalesce((f.config ->> 'retries')::int + 1, s.max_attempts), s.concurrency_key,
                   CASE WHEN $13::bool THEN 'infinity'
                        WHEN $12::float8 IS NULL THEN clock_timestamp()
                        ELSE $7 + make_interval(secs => ($11::bigint + s.n - 1) / $12::float8) END,
                   $13::bool, CASE WHEN $13::bool THEN $7 + make_interval(secs => ($11::bigint + s.n - 1) * 1e-6) END
            FROM src s LEFT JOIN blacklight.functions f ON f.id = s.function_id
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM ins) AS n, (SELECT max(id) FROM src) AS last
        """

    private func startTime(_ conn: PGConnection) throws -> Date {
        guard let t = try conn.query("SELECT clock_timestamp() AS t").scalar.dateValue else {
            throw EngineError(.database, "the database did not return its clock (SELECT clock_timestamp())")
        }
        return t
    }
}
