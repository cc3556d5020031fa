import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ReplSession {
    /// `:try FUNCTION_ID [EVENT_JSON]`: one attempt of the function through the engine's own
    /// Executor, in a transaction that is always rolled back, so the steps' writes, their memos,
    /// events they send and the run itself leave nothing behind.
    func tryFunction(_ function: String, eventJSON: String?) throws -> Bool {
        let (loaded, bundle, origin) = try currentBundle(function)
        var payload: JSONValue = .object([:])
        if let eventJSON {
            do {
                payload = try JSONValue.parse(eventJSON)
            } catch {
                return fail("the event is not valid JSON: \(error)")
            }
        }
        let hooks = StepHooks(mode: .dryRun, out: out)
        let wvm = try debugVM(bundle, hooks: hooks)
        let definition = loaded?.definition ?? wvm.definition
        var name = "repl/try"
        for case .event(let n, _, _) in definition.triggers { name = n; break }
        var data = payload
        if case .object(let o) = payload, o["data"] != nil || o["name"] != nil {
            if let n = o["name"]?.stringValue { name = n }
            data = o["data"] ?? .object([:])
        }
        guard case .object = data else { return fail("the event data must be a JSON object") }

        let writer = try PGConnection(url: url)
        defer { writer.close() }
        let batch = Batch(conn: writer)
        try batch.begin()
        defer { batch.rollback() }
        let ids = try writer.query("SELECT blacklight.ulid() AS run, blacklight.ulid() AS event").rows.first
        let now = Date()
        let event: JSONValue = .object([
            "id": .string("dry-" + (ids?["event"].stringValue ?? "event")), "name": .string(name), "data": data,
            "ts": .int(Int64(now.timeIntervalSince1970 * 1000)),
        ])
        let claim = ClaimedRun(id: "dry-" + (ids?["run"].stringValue ?? "run"), functionID: definition.id, version: bundle.hash,
                               kind: "run", parentRunID: nil, attempt: 1, maxAttempts: definition.retries + 1, ctxNow: now,
                               createdAt: now, concurrencyKey: nil, event: event, parentError: nil)
        let run = RunExecution(claim: claim, memos: [:])
        hooks.run = run
        // No fence, so no early commits in a dry run: a `transaction = false` step stays inside the transaction.
        let context = RunContext(run: run, batch: batch, limits: RunLimits())
        out("dry run of \(definition.id) (version \(bundle.hash) from \(origin)), event \(name) \(data.serialized())")
        let started = Date()
        let outcome = Executor(services: services).execute(context, in: wvm)
        let ms = String(format: "%.1f ms", Date().timeIntervalSince(started) * 1000)
        batch.rollback()
        let record = outcome.record
        var ok = true
        switch record.status {
        case .completed:
            let value = record.output.map { wvm.host.codec.decode($0) } ?? .nil
            out("completed in \(ms) → \(hooks.prettyText(value, vm: wvm.vm))")
        default:
            ok = false
            let message = record.error?["message"]?.stringValue ?? record.error?.serialized() ?? "failed"
            var text = "failed after \(ms): \(message)"
            text += ErrorText.traceback(record.error?["traceback"]?.stringValue, after: message)
            if record.status == .queued { text += "\n(a real run would retry: \(claim.maxAttempts - 1) retries left)" }
            out(text)
        }
        out("rolled back: nothing was stored")
        return ok
    }
}
