import BlacklightCore
import Foundation
import Logging
import PGStore

/// One worker transaction covering many runs.
///
/// Why: with durability as shipped (fsync, synchronous_commit on) one commit costs an fdatasync, and
/// this disk does about 5,000 a second, so a commit per run or per step caps throughput below the
/// target. A batch claims up to N runs, executes them one after another inside one transaction, and
/// commits once. Each step that touches the database gets a SAVEPOINT, so a failing step rolls back
/// only its own writes; step memos and run states are buffered and written with one statement each
/// (unnest of arrays) just before the commit. A crash before the commit rolls back the claim too, so
/// the runs are simply claimable again; nothing half-applied survives.
final class Batch {
    let conn: PGConnection
    /// The lease this batch's runs were claimed under; nil for the REPL's dry runs and replays, which never commit.
    let fence: Fence?
    private(set) var inTransaction = false
    var steps: [StepRecord] = []
    var runs: [RunRecord] = []
    var logs: [LogRecord] = []
    /// Runs this batch re-queued for right now (a resolved wait): workers should look again.
    var wantsWakeup = false
    /// Claimed runs whose results are not written yet: their leases are extended before each commit and their rows
    /// locked again after it.
    var pending: Set<String> = []
    /// Claimed runs another worker has taken over (their lease expired while this batch was outside a
    /// transaction): this batch must not write them.
    private(set) var lost: Set<String> = []
    /// Where to report a flush that had to be redone run by run.
    var log: Logger?
    /// `SET LOCAL statement_timeout` for statements outside steps, applied at each BEGIN.
    var statementTimeout: Double?
    /// What the runs written since the last commit did, reported to EngineMetrics when that commit succeeds.
    var tally = RunTally()
    /// The function of each claimed run, to label its steps' durations.
    var functionOf: [String: String] = [:]
    /// `HostServices.cancels` as it was just before this batch's claim (see ExecutionHost.checkCancelled).
    var cancelGeneration = 0

    init(conn: PGConnection, fence: Fence? = nil) {
        self.conn = conn
        self.fence = fence
    }

    /// Starts a transaction and, for a fenced batch, locks the rows of the runs it still holds: from here until
    /// COMMIT no other worker can claim them, whatever their lease says. Runs whose lease another worker took in
    /// the meantime move to `lost`.
    func begin() throws {
        if inTransaction { return }
        try conn.execScript(statementTimeout.map { "BEGIN; SET LOCAL statement_timeout = \(Self.milliseconds($0))" } ?? "BEGIN")
        inTransaction = true
        guard let fence, !pending.isEmpty else { return }
        let held = try conn.query(ClaimQueries.relock, [.array(pending.map { .text($0) }), .text(fence.token)])
        let kept = Set(held.rows.compactMap { $0["id"].stringValue })
        let taken = pending.subtracting(kept)
        if !taken.isEmpty {
            lost.formUnion(taken)
            // Operators should see it: this worker was too slow or cut off for its lease, and another took over.
            log?.warning("lease lost: another worker took over \(taken.count) run(s) this batch had not finished; nothing more is written for them",
                         metadata: ["runs": .string(taken.sorted().joined(separator: ","))])
        }
        pending = kept
    }

    /// Writes everything buffered and commits. A fenced batch first extends the leases of the runs it still holds,
    /// so that releasing their row locks does not hand them to another worker.
    func commit() throws {
        guard inTransaction else {
            try flush()
            reportTally()
            return
        }
        do {
            try flushIsolated()
            if let fence, !pending.isEmpty {
                try conn.exec(ClaimQueries.extendLeases, [.array(pending.map { .text($0) }), .text(fence.token), .double(fence.seconds)])
            }
            let tag = try conn.query("COMMIT").command
            inTransaction = false
            if tag == "ROLLBACK" {
                throw EngineError(.database, "the batch transaction was rolled back at COMMIT: a statement inside it had failed")
            }
        } catch {
            _ = try? conn.exec("ROLLBACK")
            inTransaction = false
            tally = RunTally()
            throw error
        }
        reportTally()
        if wantsWakeup {
            wantsWakeup = false
            _ = try? conn.exec("SELECT pg_notify('blacklight_runs', '')")
        }
    }

    /// Only a worker's (fenced) batches count: the REPL's dry runs and replays are rolled back.
    private func reportTally() {
        if fence != nil, !tally.isEmpty { tally.report() }
        tally = RunTally()
    }

    /// Commits what is done and goes on in a new transaction (long batches, `transaction = false` steps).
    func checkpoint() throws {
        try commit()
        try begin()
    }

    func rollback() {
        if inTransaction { _ = try? conn.exec("ROLLBACK") }
        inTransaction = false
        steps.removeAll()
        runs.removeAll()
        logs.removeAll()
        tally = RunTally()
    }

    /// Flushes in a savepoint. Should the server refuse one run's records (a value it cannot store), the flush
    /// is redone run by run, and a run whose records still fail is stored as failed with the server's message:
    /// its batch-mates' results and effects commit as usual.
    func flushIsolated() throws {
        if steps.isEmpty && runs.isEmpty && logs.isEmpty { return }
        let (allSteps, allRuns, allLogs) = (steps, runs, logs)
        try conn.execScript("SAVEPOINT bl_flush")
        do {
            try flush()
            try conn.execScript("RELEASE SAVEPOINT bl_flush")
            return
        } catch let error as PGError where error.code != .connectionClosed && error.code != .connectionFailed {
            try conn.execScript("ROLLBACK TO SAVEPOINT bl_flush")
            steps.removeAll()
            runs.removeAll()
            logs.removeAll()
            var order: [String] = []
            for id in allRuns.map(\.id) + allSteps.map(\.runID) + allLogs.map(\.runID) where !order.contains(id) { order.append(id) }
            for id in order {
                steps = allSteps.filter { $0.runID == id }
                runs = allRuns.filter { $0.id == id }
                logs = allLogs.filter { $0.runID == id }
                do {
                    try flush()
                    try conn.execScript("RELEASE SAVEPOINT bl_flush; SAVEPOINT bl_flush")
                } catch let runError as PGError where runError.code != .connectionClosed && runError.code != .connectionFailed {
                    try conn.execScript("ROLLBACK TO SAVEPOINT bl_flush")
                    let attempt = allRuns.first { $0.id == id }?.attempt ?? 1
                    steps.removeAll()
                    logs.removeAll()
                    runs = [RunRecord(id: id, status: .failed, runAt: Date(), attempt: attempt, output: nil,
                                      error: .object(["message": .string("the run's results could not be stored: \(runError.message)")]),
                                      endedAt: Date())]
                    try flush()
                }
            }
            try conn.execScript("RELEASE SAVEPOINT bl_flush")
            log?.warning("a batch flush failed (\(error.message)); stored run by run")
        }
    }

    static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return Int(min(seconds * 1000, 2_000_000_000).rounded(.up))
    }

    func flush() throws {
        // Counted once every statement has succeeded: a flush that throws is rolled back (and redone run by run).
        let flushed = steps
        if !steps.isEmpty {
            try conn.exec(Self.upsertSteps, [
                .array(steps.map { .text($0.runID) }),
                .array(steps.map { .text($0.key) }),
                .array(steps.map { .int(Int64($0.seq)) }),
                .array(steps.map { .text($0.kind) }),
                .array(steps.map { .text($0.status.rawValue) }),
                .array(steps.map { $0.output.map { .text($0.serialized()) } ?? .null }),
                .array(steps.map { $0.error.map { .text($0.serialized()) } ?? .null }),
                .array(steps.map { .int(Int64($0.attempts)) }),
                .array(steps.map { $0.startedAt.map { .timestamp($0) } ?? .null }),
                .array(steps.map { $0.endedAt.map { .timestamp($0) } ?? .null }),
                .array(steps.map { $0.wakeAt.map { .timestamp($0) } ?? .null }),
            ])
            steps.removeAll(keepingCapacity: true)
        }
        if !runs.isEmpty {
            try conn.exec(Self.updateRuns, [
                .array(runs.map { .text($0.id) }),
                .array(runs.map { .text($0.status.rawValue) }),
                .array(runs.map { .timestamp($0.runAt) }),
                .array(runs.map { .int(Int64($0.attempt)) }),
                .array(runs.map { $0.output.map { .text($0.serialized()) } ?? .null }),
                .array(runs.map { $0.error.map { .text($0.serialized()) } ?? .null }),
                .array(runs.map { $0.endedAt.map { .timestamp($0) } ?? .null }),
                fence.map { .text($0.token) } ?? .null,
            ])
            runs.removeAll(keepingCapacity: true)
        }
        if !logs.isEmpty {
            try conn.exec(Self.insertLogs, [
                .array(logs.map { .text($0.runID) }),
                .array(logs.map { .timestamp($0.at) }),
                .array(logs.map { .text($0.level) }),
                .array(logs.map { .text($0.message) }),
            ])
            logs.removeAll(keepingCapacity: true)
        }
        for step in flushed where step.kind == "run" {
            guard let started = step.startedAt, let ended = step.endedAt, let function = functionOf[step.runID] else { continue }
            tally.step(function: function, seconds: ended.timeIntervalSince(started))
        }
    }

    // One statement per table per batch: measured as the cheapest form here (one round trip and one
    // plan for N rows; a multi-row VALUES list would need SQL text that varies with N).
    static let upsertSteps = """
        INSERT INTO blacklight.steps AS s (run_id, key, seq, kind, status, output, error, attempts, started_at, ended_at, wake_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[],
                             $8::int[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[])
        ON CONFLICT (run_id, key) DO UPDATE SET
            status = EXCLUDED.status, output = EXCLUDED.output, error = EXCLUDED.error,
            attempts = EXCLUDED.attempts, started_at = coalesce(s.started_at, EXCLUDED.started_at),
            ended_at = EXCLUDED.ended_at, wake_at = EXCLUDED.wake_at
        """

    /// A run with a cancel request (0008: cancelled while this batch held it) that did not complete or fail here
    /// ends cancelled, with the request's error.
    static let updateRuns = """
        UPDATE blacklight.runs r SET
            status = CASE WHEN v.cancel IS NOT NULL AND v.status NOT IN ('completed','failed') THEN 'cancelled' ELSE v.status END,
            run_at = v.run_at, attempt = v.attempt, output = v.output,
            error = CASE WHEN v.cancel IS NOT NULL AND v.status NOT IN ('completed','failed') THEN v.cancel ELSE v.error END,
            ended_at = CASE WHEN v.cancel IS NOT NULL AND v.status NOT IN ('completed','failed') THEN clock_timestamp()
                            ELSE v.ended_at END,
            locked_by = NULL
        FROM (SELECT u.*, c.error AS cancel
              FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::jsonb[], $6::jsonb[], $7::timestamptz[])
                  AS u(id, status, run_at, attempt, output, error, ended_at)
              LEFT JOIN blacklight.cancel_requests c ON c.run_id = u.id) v
        WHERE r.id = v.id AND r.status <> 'cancelled' AND ($8::text IS NULL OR r.locked_by = $8)
        """

    static let insertLogs = """
        INSERT INTO blacklight.run_logs (run_id, at, level, message)
        SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[])
        """
}

/// The lease a batch's runs were claimed under: `token` is stored in `runs.locked_by` by the claim and is unique to
/// that claim, so a later claim of the same run (by any worker, this one included) fences this one out.
struct Fence {
    let token: String
    let seconds: Double
}
