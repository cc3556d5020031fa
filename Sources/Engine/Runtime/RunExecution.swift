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
    var concurrencyKey: String?
    var event: JSONValue
    var parentError: JSONValue?
}

extension ClaimedRun {
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
            concurrencyKey: row["concurrency_key"].stringValue,
            event: row["event"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .object([:]),
            parentError: row["parent_error"].jsonText.flatMap { try? JSONValue.parse($0) })
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

    init(claim: ClaimedRun, memos: [String: StepMemo]) {
        self.claim = claim
        self.replay = StepReplay(memos: memos)
    }

    func attempts(of key: String) -> Int {
        replay.memos[key]?.attempts ?? 0
    }
}
