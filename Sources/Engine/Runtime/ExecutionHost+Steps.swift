import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ExecutionHost {
    /// `__bl.begin(id, opts)` → key, found, memo.
    func beginStep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let context = try requireContext("step.run")
        let run = context.run
        let id = try args.string(1, name: "step.run")
        if let active = run.current {
            throw EngineError.lua("step.run('\(id)') inside step '\(active.key)': steps cannot be nested")
        }
        if id.utf8.count > 256 || id.utf8.contains(0) {
            throw EngineError.lua("step.run: a step id must be at most 256 bytes without NUL characters")
        }
        var transactional = true
        var timeout: Double?
        if case .table(let opts) = args[2] {
            for (key, _) in opts.hash where !["transaction", "timeout"].contains(key.asString ?? "") {
                throw EngineError.lua("step.run('\(id)'): unknown option '\(key.asString ?? key.typeName)' (known: transaction, timeout)")
            }
            if let t = opts["transaction"] {
                guard case .bool(let b) = t else { throw EngineError.lua("step.run('\(id)'): 'transaction' must be true or false") }
                transactional = b
            }
            if let t = opts["timeout"] {
                timeout = try duration(t, function: "step.run('\(id)') timeout")
                if timeout == 0 { throw EngineError.lua("step.run('\(id)'): 'timeout' must be more than 0") }
            }
        }
        switch run.replay.run(id) {
        case .replay(let json):
            return [.string(id), .bool(true), codec.decode(json)]
        case .execute(let key):
            try checkCancelled(run, batch: context.batch)
            if !transactional, context.canCommitMidway { try context.batch.commit() }
            let limit = context.timeLimit(step: timeout)
            run.current = ActiveStep(key: key, seq: run.replay.sequence, startedAt: Date(),
                                     transactional: transactional || !context.canCommitMidway, savepoint: false,
                                     timeLimit: limit.seconds, limitIsRun: limit.isRunLimit)
            vm.setInstructionBudget(instructionBudget)
            vm.setTimeLimit(limit.seconds)
            return [.string(key), .bool(false)]
        default:
            throw EngineError.lua("step.run('\(id)'): unexpected replay state")
        }
    }

    /// `__bl.finish(key, result)`: the step succeeded; its memo commits with its writes.
    func finishStep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let context = try requireContext("step.run")
        let (run, batch) = (context.run, context.batch)
        guard let active = run.current else { throw EngineError.lua("step finished while no step was active") }
        if let failure = active.sqlFailure {
            try endStep(run: run, batch: batch, active: active, succeeded: false)
            let message = "step '\(active.key)' caught a SQL error and carried on, but its writes had been rolled back: \(failure)"
            recordFailure(run: run, batch: batch, active: active, error: .object(["message": .string(message)]))
            throw EngineError(.database, message)
        }
        let output: JSONValue
        do {
            output = try context.storable(args[2], codec: codec, what: "a step output")
        } catch {
            try endStep(run: run, batch: batch, active: active, succeeded: false)
            let message = "step '\(active.key)' returned a value that cannot be stored: \(error)"
            recordFailure(run: run, batch: batch, active: active, error: .object(["message": .string(message)]))
            throw EngineError.lua(message)
        }
        try endStep(run: run, batch: batch, active: active, succeeded: true)
        let memo = StepMemo(status: .completed, output: output, attempts: run.attempts(of: active.key) + 1)
        vm.setTimeLimit(context.timeLimit(step: nil).seconds)
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
        var error = jsonError(args[2])
        if vm.trippedLimit == .timeLimit, case .object(var o) = error {
            o["message"] = .string(Self.timeoutMessage(active))
            o["timeout"] = .string(active.limitIsRun ? "run" : "step")
            error = .object(o)
        }
        recordFailure(run: run, batch: batch, active: active, error: error)
        return []
    }

    static func timeoutMessage(_ active: ActiveStep) -> String {
        let text = "step '\(active.key)' timed out after \(DurationText.format(active.timeLimit))"
        return active.limitIsRun ? text + " (the run's time limit, timeouts.run)" : text
    }

    func recordFailure(run: RunExecution, batch: Batch, active: ActiveStep, error: JSONValue) {
        let attempts = run.attempts(of: active.key) + 1
        run.replay.record(active.key, StepMemo(status: .failed, attempts: attempts))
        run.failedStep = active.key
        run.failedActive = active
        batch.steps.append(StepRecord(runID: run.claim.id, key: active.key, seq: active.seq, kind: "run",
                                      status: .failed, output: nil, error: error, attempts: attempts,
                                      startedAt: active.startedAt, endedAt: Date(), wakeAt: nil))
    }

    /// Releases or rolls back the step's savepoint. After a `transaction = false` step the batch starts its next
    /// transaction, re-locking the runs it holds: if another worker took this run over meanwhile, nothing more is
    /// written for it here.
    func endStep(run: RunExecution, batch: Batch, active: ActiveStep, succeeded: Bool) throws {
        run.current = nil
        context?.txDepth = 0
        if active.savepoint {
            if succeeded && active.sqlFailure == nil {
                try batch.conn.exec("RELEASE SAVEPOINT bl_step")
            } else {
                try batch.conn.execScript("ROLLBACK TO SAVEPOINT bl_step; RELEASE SAVEPOINT bl_step")
            }
        }
        if !active.transactional {
            try batch.begin()
            if batch.lost.contains(run.claim.id) {
                throw EngineError(.leaseLost, "run \(run.claim.id) was taken over by another worker while step '\(active.key)' ran "
                    + "outside the transaction (its lease expired); this worker stops it without writing its result")
            }
        }
    }

    /// `__bl.sleep(id, duration_or_time, isUntil)` → true when the run must park.
    func sleep(_ args: LuaCallArguments) throws -> [LuaValue] {
        let fname = args[3].asBool == true ? "step.sleep_until" : "step.sleep"
        let (run, batch) = try requireRun(fname)
        let id = try args.string(1, name: fname)
        if let active = run.current {
            throw EngineError.lua("\(fname)('\(id)') inside step '\(active.key)': steps cannot be nested")
        }
        try checkCancelled(run, batch: batch)
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
        do {
            _ = try TimeBounds.date(seconds: until.timeIntervalSince1970)
        } catch {
            throw EngineError.lua("\(fname)('\(id)'): \(error.message)")
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
