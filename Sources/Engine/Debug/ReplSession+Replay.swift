import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ReplSession {
    /// `:replay RUN_ID`: pauses before the first step.
    /// `:replay RUN_ID`: pauses before the first step. `only` replaces the session's breakpoints
    /// (`:rerun-step` runs to exactly its step).
    func startReplay(_ runID: String, only: Set<String>? = nil, stepping: Bool = true, quiet: Bool = false) throws -> Bool {
        let state = try makeReplay(runID, quiet: quiet)
        state.hooks.stepping = stepping
        state.hooks.breakpoints = only ?? breakpoints
        replay?.end()
        replay = state
        return state.advance()
    }

    func makeReplay(_ runID: String, quiet: Bool) throws -> ReplayState {
        guard let row = try conn.query(DebugQueries.run, [.text(runID)]).rows.first else {
            throw EngineError(.notFound, "no run \(runID) (:runs lists them)")
        }
        let claim = DebugQueries.claim(row)
        guard claim.kind == "run" else {
            throw EngineError(.badInput, "run \(runID) is an on_failure handler run; replay its failed run \(claim.parentRunID ?? "?") instead")
        }
        let steps = try DebugQueries.storedSteps(runID, conn: conn)
        var memos: [String: StepMemo] = [:]
        var errors: [String: JSONValue] = [:]
        for s in steps {
            memos[s.key] = s.memo
            if let e = s.error { errors[s.key] = e }
        }
        let (_, bundle, origin) = try currentBundle(claim.functionID)
        let hooks = StepHooks(mode: .replay, out: out)
        let wvm = try debugVM(bundle, hooks: hooks)
        // Its own connection: a read-only transaction the replay's db calls run in, rolled back at the end.
        let replayConn = try PGConnection(url: url)
        try replayConn.exec("SET default_transaction_read_only = on")
        let batch = Batch(conn: replayConn)
        try batch.begin()
        let run = RunExecution(claim: claim, memos: memos)
        if !quiet {
            var header = "replaying run \(runID) of \(claim.functionID) (\(row["status"].stringValue ?? "?"), "
                + "\(memos.values.filter { $0.status == .completed }.count) stored step outputs) on \(origin)"
            if bundle.hash != claim.version { header += " (version \(bundle.hash); the run ran \(claim.version))" }
            out(header)
        }
        return ReplayState(runID: runID, wvm: wvm, hooks: hooks, run: run, batch: batch, stored: memos, storedErrors: errors,
                           storedRunOutput: row["output"].jsonText.flatMap { try? JSONValue.parse($0) }, out: out)
    }

    func advanceReplay(stepping: Bool) -> Bool {
        guard let replay, !replay.isOver else { return fail("no replay is paused (:replay RUN_ID starts one)") }
        replay.hooks.stepping = stepping
        return replay.advance()
    }

    /// `:break STEP_ID` adds a breakpoint, `:break` lists them, `:break -STEP_ID` removes one and
    /// `:break -` removes all. They apply to the replay going on and to the next ones.
    func setBreakpoint(_ id: String?) -> Bool {
        defer { replay?.hooks.breakpoints = breakpoints }
        guard let id else {
            out(breakpoints.isEmpty ? "no breakpoints" : "breakpoints: " + breakpoints.sorted().joined(separator: ", "))
            return true
        }
        if id == "-" {
            breakpoints.removeAll()
            out("no breakpoints")
        } else if id.hasPrefix("-") {
            breakpoints.remove(String(id.dropFirst()))
            out("removed the breakpoint before step '\(id.dropFirst())'")
        } else {
            breakpoints.insert(id)
            out("breakpoint before step '\(id)'")
        }
        return true
    }

    /// `:rerun-step STEP_ID`: executes the step for real (live database, read-write transaction kept
    /// open), then pauses before the next step and shows how the new output differs from the stored one.
    func rerunStep(_ id: String, run: String? = nil) throws -> Bool {
        if let pendingRerun {
            return fail("step '\(pendingRerun.key)' was re-run and is not committed yet: :commit or :rollback first")
        }
        if run != nil || replay == nil || replay?.isOver == true
            || !(replay?.pausedAt.map { $0.id == id || $0.key == id } ?? false) {
            // Get there: replay the run (quietly) up to that step.
            guard let runID = run ?? replay?.runID else {
                return fail("no replay (:replay RUN_ID first, then :rerun-step STEP_ID; or :rerun-step RUN_ID STEP_ID)")
            }
            _ = try startReplay(runID, only: [id], stepping: false, quiet: true)
            replay?.hooks.breakpoints = breakpoints
        }
        guard let replay, let pause = replay.pausedAt, pause.id == id || pause.key == id else {
            return fail("step '\(id)' was not reached in this run's current script")
        }
        let key = pause.key
        let writer = try PGConnection(url: url)
        let live = Batch(conn: writer)
        try live.begin()
        replay.context.batch = live
        let previous = replay.run.attempts(of: key)
        replay.run.replay.record(key, StepMemo(status: .failed, attempts: previous))
        replay.hooks.onFinished = { [weak replay] finished in
            guard finished.key == key, let replay else { return }
            replay.context.batch = replay.batch
            replay.hooks.onFinished = nil
        }
        out("re-running step '\(key)' live (in a transaction)")
        replay.hooks.stepping = true
        replay.hooks.lastFinished = nil
        _ = replay.advance()
        replay.context.batch = replay.batch
        guard let finished = replay.hooks.lastFinished, finished.key == key else {
            live.rollback()
            writer.close()
            return fail("step '\(key)' did not finish; rolled back")
        }
        if finished.failed {
            live.rollback()
            writer.close()
            out("the step failed: rolled back")
            return false
        }
        let stored = replay.storedText(key)
        out(OutputDiff.describe(stored: stored, now: finished.pretty))
        out("transaction open: :commit keeps the step's writes and makes this its stored output; :rollback drops them")
        pendingRerun = PendingRerun(runID: replay.runID, key: key, batch: live)
        return true
    }

    func commitRerun() throws -> Bool {
        guard let pending = pendingRerun else { return fail("nothing to commit (:rerun-step STEP_ID first)") }
        pendingRerun = nil
        defer { pending.batch.conn.close() }
        try pending.batch.commit()
        out("committed: step '\(pending.key)' of run \(pending.runID) (its writes and its new stored output)")
        return true
    }

    func rollbackRerun() -> Bool {
        guard let pending = pendingRerun else { return fail("nothing to roll back") }
        pendingRerun = nil
        pending.batch.rollback()
        pending.batch.conn.close()
        out("rolled back: the re-run of step '\(pending.key)' left nothing behind")
        return true
    }
}
