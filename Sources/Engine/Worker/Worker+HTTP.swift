import BlacklightCore
import Foundation

extension Worker {
    /// A run of an Inngest SDK app's function: the same start rules, concurrency slots and bookkeeping as a Lua run,
    /// executed by calling the app (HTTPRunner) instead of a VM.
    func executeHTTP(_ claim: ClaimedRun, batch: Batch, heldLocks: inout [(Int32, Int32)]) throws {
        let function: HTTPFunction
        do {
            function = try http.function(claim, conn: batch.conn)
        } catch {
            return failUnloadable(claim, error, batch: batch)
        }
        guard try admit(claim, definition: function.definition, batch: batch, heldLocks: &heldLocks) else { return }
        guard let record = try http.execute(claim, function: function, batch: batch) else { return }
        if record.status == .failed, claim.kind == "run" {
            // An SDK function's `on_failure` handler is a function of its own, triggered by Inngest's
            // `inngest/function.failed` event for it (function.py `get_config`); stored with the failed state, so
            // it exists exactly when the failure does.
            let data: JSONValue = .object(["function_id": .string(claim.functionID), "run_id": .string(claim.id),
                                           "error": record.error ?? .null, "event": claim.event])
            try batch.conn.exec("SELECT blacklight.ingest_event('inngest/function.failed', $1::jsonb)", [.json(data.serialized())])
            batch.wantsWakeup = true
        }
        batch.runs.append(record)
        batch.tally.recorded(function: claim.functionID, status: record.status, retry: record.attempt > claim.attempt)
        logOutcome(claim, record)
        if record.status == .queued, record.runAt.timeIntervalSinceNow < 0.01 { batch.wantsWakeup = true }
    }
}
