import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// A run as claimed by a worker.
struct ClaimedRun: Sendable {
    var id: String
    var functionID: String
    var version: String
    var kind: String
    var parentRunID: String?
    var attempt: Int
    var maxAttempts: Int
    var ctxNow: Date
    var createdAt: Date
    var startedAt: Date? = nil
    var concurrencyKey: String?
    var event: JSONValue
    var parentError: JSONValue?
    /// The claim found the run failed for good: it stalled its workers in every attempt (see ClaimQueries.claim).
    var poisoned = false
    /// This claim starts the run for the first time (for `timeouts.start`).
    var firstStart = false
}

extension ClaimedRun {
    /// Decodes the rows a claim returned (the worker's `ClaimQueries.claim`, the REPL's `:resume`), reading again
    /// with a statement of its own each event the claim's snapshot could not see (see `ClaimQueries.claimedEvents`).
    static func claimed(_ rows: [PGRow], conn: PGConnection) throws -> [ClaimedRun] {
        var claims = rows.map(ClaimedRun.init(row:))
        let unseen = rows.filter { $0["event"].isNull }.compactMap { $0["id"].stringValue }
        guard !unseen.isEmpty else { return claims }
        var events: [String: JSONValue] = [:]
        for row in try conn.query(ClaimQueries.claimedEvents, [.array(unseen.map { .text($0) })]).rows {
            guard let id = row["id"].stringValue, let text = row["event"].jsonText else { continue }
            events[id] = try? JSONValue.parse(text)
        }
        for i in claims.indices { claims[i].event = events[claims[i].id] ?? claims[i].event }
        return claims
    }

    /// Decodes a row of the claim query's shape (ClaimQueries.claim).
    init(row: PGRow) {
        self.init(
            id: row["id"].stringValue ?? "",
            functionID: row["function_id"].stringValue ?? "",
            version: row["version"].stringValue ?? "",
            kind: row["kind"].stringValue ?? "run",
            parentRunID: row["parent_run_id"].stringValue,
            attempt: Int(row["attempt"].intValue ?? 1),
            maxAttempts: Int(row["max_attempts"].intValue ?? 1),
            ctxNow: row["ctx_now"].dateValue ?? Date(),
            createdAt: row["created_at"].dateValue ?? Date(),
            startedAt: row["started_at"].dateValue,
            concurrencyKey: row["concurrency_key"].stringValue,
            event: row["event"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .object([:]),
            parentError: row["parent_error"].jsonText.flatMap { try? JSONValue.parse($0) },
            poisoned: row["stalled"].boolValue == true && row["status"].stringValue == "failed",
            firstStart: row["first_start"].boolValue ?? false)
    }
}

/// One row to write into blacklight.steps when the batch flushes.
struct StepRecord {
    var runID: String
    var key: String
    var seq: Int
    var kind: String
    var status: StepMemo.Status
    var output: JSONValue?
    var error: JSONValue?
    var attempts: Int
    var startedAt: Date?
    var endedAt: Date?
    var wakeAt: Date?
}

/// The new state of a run when the batch flushes.
struct RunRecord {
    var id: String
    var status: RunStatus
    var runAt: Date
    var attempt: Int
    var output: JSONValue?
    var error: JSONValue?
    var endedAt: Date?
}

struct LogRecord {
    var runID: String
    var at: Date
    var level: String
    var message: String
}

/// The state of the step that is executing right now.
struct ActiveStep {
    var key: String
    var seq: Int
    var startedAt: Date
    var transactional: Bool
    var savepoint: Bool
    /// The step's time limit in seconds, and whether it is what is left of the run's own limit.
    var timeLimit: Double = 0
    var limitIsRun = false
    /// A SQL error inside the step aborted its savepoint (its writes are rolled back); set even when the script
    /// caught the error, so the step fails instead of carrying on without them.
    var sqlFailure: String?
}

/// Everything about one execution of one run inside a worker's batch.
final class RunExecution {
    let claim: ClaimedRun
    var replay: StepReplay
    var current: ActiveStep?
    /// Set when the run parks: the status to store and when to wake.
    var park: (status: RunStatus, until: Date)?
    /// The key of the step whose failure ended this execution, for the run's error.
    var failedStep: String?
    /// That step as it was when it failed (its time limit, for a timeout's message).
    var failedActive: ActiveStep?
    /// The cancel generation (HostServices.cancels) this run last asked the database about.
    var seenCancels = 0
    /// Set when a cancel request was found: the run's error as the request gives it.
    var cancelled: JSONValue?

    init(claim: ClaimedRun, memos: [String: StepMemo]) {
        self.claim = claim
        self.replay = StepReplay(memos: memos)
    }

    func attempts(of key: String) -> Int {
        replay.memos[key]?.attempts ?? 0
    }
}
