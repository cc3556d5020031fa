import BlacklightCore
import Foundation
import LuaHost

/// The Swift side of the debugger's instrumentation of one workflow VM (see DebugLua.hooks): decides
/// whether to pause before a step, skips sleeps and times out waits when nothing may park, and
/// prints each step's outcome as it happens.
final class StepHooks {
    enum Mode {
        /// `:try`: nothing is stored; sleeps are skipped, waits time out.
        case dryRun
        /// `:replay`: memoized steps replay; pauses before steps; sleeps and waits without a stored
        /// result are skipped / time out.
        case replay
        /// `:resume`: a real execution; the hooks only report.
        case live
    }

    struct Finished {
        var key: String
        var pretty: String
        var failed: Bool
        var duration: Double
    }

    var mode: Mode
    var run: RunExecution?
    /// Pause before every step (`:next`), or only at breakpoints (`:continue`).
    var stepping = false
    var breakpoints: Set<String> = []
    /// Called after a step finished or failed (the REPL ends a `:rerun-step` here).
    var onFinished: ((Finished) -> Void)?
    let out: (String) -> Void
    private var started: [String: Date] = [:]
    var lastFinished: Finished?
    /// Evaluates code at the pause point (set by install).
    private(set) var evalRef: LuaRef?
    private(set) var pretty: LuaRef?

    init(mode: Mode, out: @escaping (String) -> Void) {
        self.mode = mode
        self.out = out
    }

    /// Installs the instrumentation into `wvm`.
    func install(into wvm: WorkflowVM) throws {
        let vm = wvm.vm
        let tools = try ConsoleTools.load(into: vm)
        pretty = tools.pretty
        guard case .table(let stepTable) = wvm.stepTable, case .function(let run)? = stepTable["run"] else {
            throw EngineError.lua("the workflow VM has no step.run to instrument")
        }
        // Weak: the VM owns this closure, and the REPL may drop the hooks before the VM.
        let notify = vm.makeFunction { [weak self] args in try self?.notify(args) ?? [] }
        let chunk = try vm.loadTrusted(DebugLua.wrapped(DebugLua.hooks), chunkName: "=blacklight.debug")
        guard case .function(let hooks)? = chunk.first else { throw EngineError.lua("the debug hooks did not load") }
        let state = try vm.call(hooks, [.function(run), .function(notify), .table(tools.table), .function(tools.getEnv)])
        guard case .table(let t)? = state.first, case .function(let eval)? = t["eval"] else {
            throw EngineError.lua("the debug hooks returned no eval")
        }
        evalRef = eval
    }

    private func notify(_ args: LuaCallArguments) throws -> [LuaValue] {
        let kind = args[1].asString ?? ""
        switch kind {
        case "before":
            guard mode == .replay, let run, let id = args[2].asString else { return [] }
            var probe = run.replay
            _ = probe.run(id)
            let key = probe.reached.last ?? id
            if stepping || breakpoints.contains(id) || breakpoints.contains(key) { return [.string("pause")] }
            return []
        case "replayed":
            let key = args[2].asString ?? "?"
            if mode != .replay || !stepping {
                out("  step \(key): stored output → \(args[3].asString ?? "")")
            }
            return []
        case "started":
            if let key = args[2].asString { started[key] = Date() }
            return []
        case "finished", "failed":
            let key = args[2].asString ?? "?"
            let duration = started.removeValue(forKey: key).map { Date().timeIntervalSince($0) } ?? 0
            let failed = kind == "failed"
            let text = args[3].asString ?? ""
            let ms = String(format: "%.1f ms", duration * 1000)
            out(failed ? "  step \(key) ✗ failed after \(ms): \(text)" : "  step \(key) ✓ \(ms) → \(text)")
            let finished = Finished(key: key, pretty: text, failed: failed, duration: duration)
            lastFinished = finished
            onFinished?(finished)
            return []
        case "sleep":
            guard mode != .live, let run, let id = args[2].asString else { return [.string("run")] }
            var probe = run.replay
            if case .replay = probe.sleep(id, until: .distantFuture, now: .distantPast) { return [.string("run")] }
            // Consume the key so later steps get the same keys as in a real execution.
            if case .wake(let key) = run.replay.sleep(id, until: .distantPast, now: .distantFuture) {
                run.replay.record(key, StepMemo(status: .completed, output: .null))
            }
            out("  step.sleep('\(id)'): skipped (\(mode == .dryRun ? "dry run" : "replay"): nothing sleeps here)")
            return [.string("skip")]
        case "wait":
            guard mode != .live, let run, let id = args[2].asString else { return [.string("run")] }
            var probe = run.replay
            if case .replay = probe.wait(id) { return [.string("run")] }
            switch run.replay.wait(id) {
            case .startWait(let key), .resumeWait(let key, _):
                run.replay.record(key, StepMemo(status: .completed, output: .null))
            default:
                break
            }
            out("  step.wait_for_event('\(id)', \(args[3].asString ?? "?")): treated as timed out (returns nil)")
            return [.string("skip")]
        case "invoke":
            guard mode != .live, let run, let id = args[2].asString else { return [.string("run")] }
            var probe = run.replay
            if case .replay = probe.wait(id) { return [.string("run")] }
            switch run.replay.wait(id) {
            case .startWait(let key), .resumeWait(let key, _):
                run.replay.record(key, StepMemo(status: .completed, output: .object(["ok": .bool(true), "output": .null])))
            default:
                break
            }
            out("  step.invoke('\(id)', \(args[3].asString ?? "?")): skipped (\(mode == .dryRun ? "dry run" : "replay"): returns nil)")
            return [.string("skip")]
        default:
            return []
        }
    }

    /// Evaluates `source` at the pause point; `extra` adds names such as `output`.
    func evaluate(_ source: String, extra: [String: LuaValue], vm: LuaVM) -> ConsoleTools.Result {
        guard let evalRef else { return .error("the debugger is not installed") }
        vm.resetLimits()
        do {
            let results = try vm.call(evalRef, [.string(source), .table(LuaTable.from(extra))])
            return ConsoleTools.Result(results)
        } catch {
            return .error(error.description)
        }
    }

    func prettyText(_ value: LuaValue, vm: LuaVM) -> String {
        guard let pretty, let r = try? vm.call(pretty, [value]), let s = r.first?.asString else { return "?" }
        return s
    }
}
