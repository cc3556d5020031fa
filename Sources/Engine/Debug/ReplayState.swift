import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// One `:replay`: the run's current script executing as a coroutine over the run's stored step
/// outputs, on its own read-only transaction (rolled back at the end), paused between steps.
final class ReplayState {
    let runID: String
    let wvm: WorkflowVM
    let hooks: StepHooks
    let run: RunExecution
    let batch: Batch
    let coroutine: LuaCoroutine
    /// The replay's run as the host API sees it; `:rerun-step` points its batch at a live transaction for one step.
    let context: RunContext
    /// The memos as stored, for showing and comparing (the replay's own copy changes as it goes).
    let stored: [String: StepMemo]
    let storedErrors: [String: JSONValue]
    let storedRunOutput: JSONValue?
    private var firstArgs: [LuaValue]?
    private(set) var pausedAt: (id: String, key: String)?
    private(set) var isOver = false
    let out: (String) -> Void

    init(runID: String, wvm: WorkflowVM, hooks: StepHooks, run: RunExecution, batch: Batch, stored: [String: StepMemo],
         storedErrors: [String: JSONValue], storedRunOutput: JSONValue?, out: @escaping (String) -> Void) {
        self.runID = runID
        self.wvm = wvm
        self.hooks = hooks
        self.run = run
        self.batch = batch
        self.stored = stored
        self.storedErrors = storedErrors
        self.storedRunOutput = storedRunOutput
        self.out = out
        let host = wvm.host
        let claim = run.claim
        let ctx: [(key: LuaValue, value: LuaValue)] = [
            (.string("event"), host.codec.decode(claim.event)),
            (.string("run_id"), .string(claim.id)),
            (.string("function_id"), .string(claim.functionID)),
            (.string("attempt"), .int(Int64(claim.attempt))),
            (.string("max_attempts"), .int(Int64(claim.maxAttempts))),
            (.string("now"), host.times.make(claim.ctxNow.timeIntervalSince1970)),
        ]
        firstArgs = [.table(LuaTable(array: [], hash: ctx)), wvm.stepTable]
        coroutine = wvm.vm.newCoroutine(wvm.runFunction)
        context = RunContext(run: run, batch: batch, limits: RunLimits())
        host.enter(context)
        hooks.run = run
    }

    /// Runs to the next pause (or the end). Returns false when the run's code failed.
    func advance() -> Bool {
        guard !isOver else {
            out("the replay is over (:replay RUN_ID starts again)")
            return false
        }
        pausedAt = nil
        let vm = wvm.vm
        vm.resetLimits()
        vm.setInstructionBudget(wvm.host.instructionBudget)
        let args = firstArgs ?? []
        firstArgs = nil
        do {
            switch try coroutine.resume(args) {
            case .yielded(let values):
                if values.first?.asString == "pause", let id = values.count > 1 ? values[1].asString : nil {
                    var probe = run.replay
                    _ = probe.run(id)
                    let key = probe.reached.last ?? id
                    pausedAt = (id, key)
                    showPause(key)
                    return true
                }
                out("the run parked (a sleep or wait without a stored result); replay over")
                end()
                return true
            case .returned(let values):
                let value = values.first ?? .nil
                var text = "replay finished: the function returned \(hooks.prettyText(value, vm: vm))"
                if let storedRunOutput {
                    let storedText = hooks.prettyText(wvm.host.codec.decode(storedRunOutput), vm: vm)
                    text += storedText == hooks.prettyText(value, vm: vm) ? " (same as stored)" : "\n  stored run output: \(storedText)"
                }
                out(text)
                end()
                return true
            }
        } catch {
            var message = error.message
            var traceback = error.traceback
            if case .table(let t)? = error.value {
                if let m = t["message"]?.asString { message = m }
                if let tb = t["traceback"]?.asString, !tb.isEmpty { traceback = tb }
            }
            out("replay failed: \(message)" + ErrorText.traceback(traceback, after: message))
            end()
            return false
        }
    }

    func showPause(_ key: String) {
        var lines = ["paused before step '\(key)'"]
        if let memo = stored[key] {
            switch memo.status {
            case .completed:
                lines.append("  stored output: \(storedText(key) ?? "nil")")
            default:
                var line = "  no stored output (\(memo.status.rawValue))"
                if let e = storedErrors[key] { line += ": " + (e["message"]?.stringValue ?? e.serialized()) }
                lines.append(line)
            }
        } else {
            lines.append("  no stored output: the run never reached this step; it will execute (read-only) on :next")
        }
        out(lines.joined(separator: "\n"))
    }

    func storedText(_ key: String) -> String? {
        guard let memo = stored[key], memo.status == .completed else { return nil }
        return hooks.prettyText(wvm.host.codec.decode(memo.output ?? .null), vm: wvm.vm)
    }

    func evaluate(_ source: String) -> ConsoleTools.Result {
        var extra: [String: LuaValue] = ["run_id": .string(runID)]
        if let pausedAt {
            extra["step_id"] = .string(pausedAt.key)
            if let memo = stored[pausedAt.key], memo.status == .completed, let output = memo.output {
                let value = wvm.host.codec.decode(output)
                extra["output"] = value
                extra["stored"] = value
            }
        }
        return hooks.evaluate(source, extra: extra, vm: wvm.vm)
    }

    func end() {
        if isOver { return }
        isOver = true
        pausedAt = nil
        wvm.host.leave()
        batch.rollback()
        batch.conn.close()
    }
}
