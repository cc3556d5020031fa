import BlacklightCore
import Foundation
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
    private(set) var inTransaction = false
    var steps: [StepRecord] = []
    var runs: [RunRecord] = []
    var logs: [LogRecord] = []
    /// Runs this batch re-queued for right now (a resolved wait): workers should look again.
    var wantsWakeup = false

    init(conn: PGConnection) {
        self.conn = conn
    }

    func begin() throws {
        if inTransaction { return }
        try conn.exec("BEGIN")
        inTransaction = true
    }

    /// Writes everything buffered and commits.
    func commit() throws {
        guard inTransaction else {
            try flush()
            return
        }
        do {
            try flush()
            try conn.exec("COMMIT")
            inTransaction = false
        } catch {
            _ = try? conn.exec("ROLLBACK")
            inTransaction = false
            throw error
        }
        if wantsWakeup {
            wantsWakeup = false
            _ = try? conn.exec("SELECT pg_notify('blacklight_runs', '')")
        }
    }

    func rollback() {
        if inTransaction { _ = try? conn.exec("ROLLBACK") }
        inTransaction = false
        steps.removeAll()
        runs.removeAll()
        logs.removeAll()
    }

    func flush() throws {
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

    static let updateRuns = """
        UPDATE blacklight.runs r SET status = v.status, run_at = v.run_at, attempt = v.attempt,
            output = v.output, error = v.error, ended_at = v.ended_at, locked_by = NULL
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::int[], $5::jsonb[], $6::jsonb[], $7::timestamptz[])
            AS v(id, status, run_at, attempt, output, error, ended_at)
        WHERE r.id = v.id AND r.status <> 'cancelled'
        """

    static let insertLogs = """
        INSERT INTO blacklight.run_logs (run_id, at, level, message)
        SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[])
        """
}
