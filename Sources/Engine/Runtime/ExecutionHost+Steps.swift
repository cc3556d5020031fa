import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ExecutionHost {
    /// `__bl.begin(id, opts)` → key, found, memo.
    func beginStep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let (run, _) = try requireRun("step.run")
        let id = try args.string(1, name: "step.run")
        if let active = run.current {
            throw EngineError.lua("step.run('\(id)') inside step '\(active.key)': steps cannot be nested")
        }
        var transactional = true
        if case .table(let opts) = args[2] {
            if case .bool(let b)? = opts["transaction"] { transactional = b }
        }
        switch run.replay.run(id) {
        case .replay(let json):
            return [.string(id), .bool(true), codec.decode(json)]
        case .execute(let key):
            if !transactional { try suspendBatch?() }
            run.current = ActiveStep(key: key, seq: run.replay.sequence, startedAt: Date(),
                                     transactional: transactional, savepoint: false)
            vm.setInstructionBudget(instructionBudget)
            return [.string(key), .bool(false)]
        default:
            throw EngineError.lua("step.run('\(id)'): unexpected replay state")
        }
    }

    /// `__bl.finish(key, result)`: the step succeeded; its memo commits with its writes.
    func finishStep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let (run, batch) = try requireRun("step.run")
        guard let active = run.current else { throw EngineError.lua("step finished while no step was active") }
        let output: JSONValue
        do {
            output = try codec.encode(args[2])
        } catch {
            try endStep(run: run, batch: batch, active: active, succeeded: false)
            let message = "step '\(active.key)' returned a value that cannot be stored: \(error)"
            recordFailure(run: run, batch: batch, active: active, error: .object(["message": .string(message)]))
            throw EngineError.lua(message)
        }
        try endStep(run: run, batch: batch, active: active, succeeded: true)
        let memo = StepMemo(status: .completed, output: output, attempts: run.attempts(of: active.key) + 1)
        run.replay.record(active.key, memo)
        batch.steps.append(StepRecord(runID: run.claim.id, key: active.key, seq: active.seq, kind: "run",
                                      status: .completed, output: output, error: nil, attempts: memo.attempts,
                                      startedAt: active.startedAt, endedAt: Date(), wakeAt: nil))
        vm.setInstructionBudget(instructionBudget)
        return []
    }

    /// `__bl.fail(key, err)`: the step raised; undo its writes and record the error.
    func failStep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let (run, batch) = try requireRun("step.run")
        guard let active = run.current else { return [] }
        try endStep(run: run, batch: batch, active: active, succeeded: false)
        recordFailure(run: run, batch: batch, active: active, error: jsonError(args[2]))
        return []
    }

    func recordFailure(run: RunExecution, batch: Batch, active: ActiveStep, error: JSONValue) {
        let attempts = run.attempts(of: active.key) + 1
        run.replay.record(active.key, StepMemo(status: .failed, attempts: attempts))
        run.failedStep = active.key
        batch.steps.append(StepRecord(runID: run.claim.id, key: active.key, seq: active.seq, kind: "run",
                                      status: .failed, output: nil, error: error, attempts: attempts,
                                      startedAt: active.startedAt, endedAt: Date(), wakeAt: nil))
    }

    func endStep(run: RunExecution, batch: Batch, active: ActiveStep, succeeded: Bool) throws {
        run.current = nil
        if active.savepoint {
            if succeeded {
                try batch.conn.exec("RELEASE SAVEPOINT bl_step")
            } else {
                try batch.conn.exec("ROLLBACK TO SAVEPOINT bl_step")
                try batch.conn.exec("RELEASE SAVEPOINT bl_step")
            }
        }
        if !active.transactional { try resumeBatch?() }
    }

    /// `__bl.sleep(id, duration_or_time, isUntil)` → true when the run must park.
    func sleep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let fname = args[3].asBool == true ? "step.sleep_until" : "step.sleep"
        let (run, batch) = try requireRun(fname)
        let id = try args.string(1, name: fname)
        if let active = run.current {
            throw EngineError.lua("\(fname)('\(id)') inside step '\(active.key)': steps cannot be nested")
        }
        let now = Date()
        let until: Date
        if args[3].asBool == true {
            guard let s = times.seconds(args[2]) else {
                throw EngineError.lua("\(fname)('\(id)'): expected a time, an ISO-8601 string or epoch seconds, got \(args[2].typeName)")
            }
            until = Date(timeIntervalSince1970: s)
        } else {
            until = now.addingTimeInterval(try duration(args[2], function: "\(fname)('\(id)')"))
        }
        switch run.replay.sleep(id, until: until, now: now) {
        case .replay:
            return [.bool(false)]
        case .wake(let key):
            run.replay.record(key, StepMemo(status: .completed, output: .null))
            batch.steps.append(StepRecord(runID: run.claim.id, key: key, seq: run.replay.sequence, kind: "sleep",
                                          status: .completed, output: nil, error: nil, attempts: 1,
                                          startedAt: nil, endedAt: now, wakeAt: nil))
            return [.bool(false)]
        case .park(let key, let wake, let isNew):
            if isNew {
                batch.steps.append(StepRecord(runID: run.claim.id, key: key, seq: run.replay.sequence, kind: "sleep",
                                              status: .sleeping, output: nil, error: nil, attempts: 1,
                                              startedAt: now, endedAt: nil, wakeAt: wake))
            }
            run.park = (.sleeping, wake)
            return [.bool(true)]
        default:
            throw EngineError.lua("\(fname)('\(id)'): unexpected replay state")
        }
    }

    func duration(_ value: LuaValue, function: String) throws -> Double {
        switch value {
        case .int(let n) where n >= 0: return Double(n)
        case .number(let d) where d >= 0 && d.isFinite: return d
        case .string(let s):
            do {
                return try DurationParser.seconds(s)
            } catch {
                throw EngineError.lua("\(function): \(error)")
            }
        default:
            throw EngineError.lua("\(function): expected a duration like \"10m\" or a number of seconds, got \(value.typeName)")
        }
    }
}
