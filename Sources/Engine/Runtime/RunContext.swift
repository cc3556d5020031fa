import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// Everything the host API needs about the run executing now: the run, the batch transaction its writes go to
/// (which also carries the lease that fences them), and the limits it runs under. The executor hands one to the
/// workflow's host for the run's duration; workers, the REPL's `:resume`, `:try` and `:replay` all build one, so
/// no other code sets per-run state on the host.
final class RunContext {
    let run: RunExecution
    /// A `var` only for the REPL's `:rerun-step`, which runs one step of a replay on a live transaction.
    var batch: Batch
    let limits: RunLimits
    /// When the whole run must end (`timeouts.run`), if it has a limit.
    let runDeadline: Date?
    /// Log lines and bytes kept so far, and what was dropped past the limits.
    var logLines = 0
    var logBytes = 0
    var logsDropped = 0
    /// The workflow's `timeouts.step`, when it declares one.
    var workflowStepTimeout: Double?
    /// `db.tx` blocks open in the executing step.
    var txDepth = 0
    /// Set once the run's script sent SQL, so the session is reset before the next run uses the connection.
    var usedSQL = false

    init(run: RunExecution, batch: Batch, limits: RunLimits, runDeadline: Date? = nil) {
        self.run = run
        self.batch = batch
        self.limits = limits
        self.runDeadline = runDeadline
    }

    /// Whether a `transaction = false` step may commit the batch and run outside it (not in dry runs and replays,
    /// whose transaction never commits).
    var canCommitMidway: Bool { batch.fence != nil }

    /// `value` encoded as a memo, refused (with its size) when over the output limit. `what` names it in the message.
    func storable(_ value: LuaValue, codec: MemoCodec, what: String) throws -> JSONValue {
        let output = try codec.encode(value)
        let size = output.serialized().utf8.count
        if size > limits.outputBytes {
            throw MemoCodec.EncodeError(description: "it is \(ExecutionHost.megabytes(size)) as JSON, over the "
                + "\(ExecutionHost.megabytes(limits.outputBytes)) limit of \(what) (store large data in a table and return its key)")
        }
        return output
    }

    /// Seconds the code about to run may take: a step's own limit (or the default), cut to what is left of the run.
    func timeLimit(step: Double?) -> (seconds: Double, isRunLimit: Bool) {
        let own = step ?? workflowStepTimeout ?? limits.stepTimeout
        guard let runDeadline else { return (own, false) }
        let left = max(0.001, runDeadline.timeIntervalSinceNow)
        return left < own ? (left, true) : (own, false)
    }
}

/// What the host buffers or waits for on a run's behalf, bounded so one script cannot exhaust the worker.
public struct RunLimits: Sendable {
    /// Default limit of one step (and of the code between two steps), unless the step or workflow says otherwise.
    public var stepTimeout: Double = 300
    /// Log lines kept per run, and their total size; past either, lines are dropped and a marker says how many.
    public var logLines = 1_000
    public var logBytes = 1 << 20
    /// Largest single log message (longer ones are cut with a marker).
    public var logMessageBytes = 64 << 10
    /// Largest stored step or run output (serialized JSON).
    public var outputBytes = 4 << 20
    /// Largest `db.query` result handed to a script (as PostgreSQL's text of its values).
    public var queryResultBytes = 16 << 20

    public init() {}
}
