import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ReplSession {
    /// `:resume RUN_ID [--from STEP_ID]`: activates the script on disk, re-points the run at that
    /// version, drops the memos from the step on (earlier results are kept), queues the run with a
    /// fresh attempt count, and executes it here so the person sees it finish.
    func resume(_ runID: String, from: String?) throws -> Bool {
        guard let row = try conn.query(DebugQueries.run, [.text(runID)]).rows.first else {
            return fail("no run \(runID) (:runs lists them)")
        }
        let status = row["status"].stringValue ?? "?"
        guard ["failed", "cancelled", "completed"].contains(status) else {
            return fail("run \(runID) is \(status): a worker still owns it; :resume is for runs that ended")
        }
        let functionID = row["function_id"].stringValue ?? ""
        let oldVersion = row["version"].stringValue ?? ""
        let runError = row["error"].jsonText.flatMap { try? JSONValue.parse($0) }
        let steps = try DebugQueries.storedSteps(runID, conn: conn)
        let fromKey = from ?? steps.first(where: { $0.memo.status != .completed })?.key ?? runError?["step"]?.stringValue
        var fromSeq: Int?
        if let fromKey {
            guard let step = steps.first(where: { $0.key == fromKey }) else {
                let known = steps.map(\.key).joined(separator: ", ")
                return fail("run \(runID) has no step '\(fromKey)' (its steps: \(known.isEmpty ? "none" : known))")
            }
            fromSeq = step.seq
        } else if status == "completed" {
            return fail("run \(runID) completed; say which step to resume from: :resume \(runID) --from STEP_ID")
        }

        var dir = ScriptDirectory(root: root)
        dir.limits = limits
        let disk = dir.load(services: services)
        let bundle: ScriptBundle
        let writer = try PGConnection(url: url)
        defer { writer.close() }
        if let workflow = disk.workflows.first(where: { $0.definition.id == functionID }) {
            bundle = workflow.bundle
            // Keep the other files' load errors as they are: activate() rewrites that table.
            try Registry().activate([workflow], errors: disk.errors, retireMissing: false, conn: writer)
        } else {
            if let error = disk.errors.first(where: { $0.message.contains("'\(functionID)'") }) {
                return fail("the script of '\(functionID)' does not load: \(error)")
            }
            bundle = try currentBundle(functionID).1
        }
        let kept = steps.filter { s in s.memo.status == .completed && fromSeq.map { s.seq < $0 } ?? true }.count
        try writer.transaction {
            try writer.exec("""
                DELETE FROM blacklight.steps WHERE run_id = $1 AND (($2::int IS NOT NULL AND seq >= $2) OR status <> 'completed')
                """, [.text(runID), fromSeq.map { .int(Int64($0)) } ?? .null])
            try writer.exec("DELETE FROM blacklight.waits WHERE run_id = $1", [.text(runID)])
            try writer.exec("""
                UPDATE blacklight.runs SET version = $2, status = 'queued', attempt = 1, run_at = clock_timestamp(),
                    output = NULL, error = NULL, ended_at = NULL, locked_by = NULL
                WHERE id = $1
                """, [.text(runID), .text(bundle.hash)])
        }
        var header = "resuming run \(runID) of \(functionID) on version \(bundle.hash)"
        if bundle.hash != oldVersion { header += " (was \(oldVersion))" }
        header += fromKey.map { " from step '\($0)'" } ?? ""
        out(header + ", keeping \(kept) stored step output\(kept == 1 ? "" : "s")")
        return try execute(runID, bundle: bundle, conn: writer)
    }

    /// Executes one queued run in this process, attempt after attempt (retries wait here up to a
    /// minute), through the engine's Executor and Batch, like a worker that claims only this run. It
    /// takes no concurrency slot: one run resumed by hand does not need the limit's protection.
    private func execute(_ runID: String, bundle: ScriptBundle, conn writer: PGConnection) throws -> Bool {
        let hooks = StepHooks(mode: .live, out: out)
        let wvm = try debugVM(bundle, hooks: hooks)
        let executor = Executor(services: services)
        let deadline = Date().addingTimeInterval(60)
        let owner = "repl:\(ProcessInfo.processInfo.processIdentifier)"
        var claims = 0
        while true {
            claims += 1
            let fence = Fence(token: "\(owner)#\(claims)", seconds: 30)
            guard let row = try writer.query(DebugQueries.claimOne, [.text(runID), .text(fence.token), .double(30)]).rows.first else {
                let state = try writer.query("""
                    SELECT status, extract(epoch FROM run_at - clock_timestamp())::float8 AS wait FROM blacklight.runs WHERE id = $1
                    """, [.text(runID)]).rows.first
                let wait = state?["wait"].doubleValue ?? 0
                let status = state?["status"].stringValue ?? "gone"
                // Queued for a retry soon, or claimed by a worker of a running server: wait and see.
                if (status == "queued" && Date().addingTimeInterval(wait) < deadline) || (status == "running" && Date() < deadline) {
                    Thread.sleep(forTimeInterval: status == "running" ? 0.1 : max(0.01, wait))
                    continue
                }
                if status == "completed" || status == "failed" {
                    return try reportEnd(runID, conn: writer)
                }
                out("run \(runID) is \(status); workers will take it from here")
                return true
            }
            let claim = try ClaimedRun.claimed([row], conn: writer)[0]  // one row in, one claim out
            var memos: [String: StepMemo] = [:]
            for s in try DebugQueries.storedSteps(runID, conn: writer) { memos[s.key] = s.memo }
            let run = RunExecution(claim: claim, memos: memos)
            hooks.run = run
            let batch = Batch(conn: writer, fence: fence)
            batch.pending = [claim.id]
            out("attempt \(claim.attempt) of \(claim.maxAttempts):")
            let outcome: Executor.Outcome
            do {
                try batch.begin()
                guard batch.pending.contains(claim.id) else {
                    batch.rollback()
                    out("run \(runID) was taken over by a worker; workers will take it from here")
                    return true
                }
                outcome = executor.execute(RunContext(run: run, batch: batch, limits: RunLimits(),
                                                      runDeadline: Worker.runDeadline(claim, definition: wvm.definition)), in: wvm)
                if outcome.leaseLost {
                    batch.rollback()
                    out("run \(runID) was taken over by a worker while it ran here; workers will take it from here")
                    return true
                }
                batch.pending.remove(claim.id)
                batch.runs.append(outcome.record)
                if outcome.startFailureHandler != nil {
                    try batch.flush()
                    try writer.exec(ClaimQueries.startFailureHandler, [.text(claim.id)])
                    batch.wantsWakeup = true
                }
                try batch.commit()
            } catch {
                batch.rollback()
                throw error
            }
            let record = outcome.record
            let message = record.error?["message"]?.stringValue ?? record.error?.serialized() ?? ""
            switch record.status {
            case .completed:
                let value = record.output.map { wvm.host.codec.decode($0) } ?? .nil
                out("run \(runID) completed → \(hooks.prettyText(value, vm: wvm.vm))")
                return true
            case .failed:
                var text = "run \(runID) failed: \(message)"
                text += ErrorText.traceback(record.error?["traceback"]?.stringValue, after: message)
                out(text)
                return false
            case .queued:
                out("attempt \(claim.attempt) failed: \(message); retry at \(TimeValue.iso(record.runAt.timeIntervalSince1970))")
            default:
                out("run \(runID) is \(record.status.rawValue) until \(TimeValue.iso(record.runAt.timeIntervalSince1970)); workers will continue it")
                return true
            }
        }
    }

    /// The end state of a run another process finished.
    private func reportEnd(_ runID: String, conn: PGConnection) throws -> Bool {
        let row = try conn.query("SELECT status, output::text AS output, error FROM blacklight.runs WHERE id = $1", [.text(runID)]).rows.first
        let status = row?["status"].stringValue ?? "gone"
        if status == "completed" {
            out("run \(runID) completed (by a worker) → \(row?["output"].stringValue ?? "null")")
            return true
        }
        let error = row?["error"].jsonText.flatMap { try? JSONValue.parse($0) }
        out("run \(runID) \(status) (by a worker): \(error?["message"]?.stringValue ?? "")")
        return false
    }
}
