import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// Runs one claimed run in its workflow's VM until it completes, fails an attempt, or parks, and
/// turns the outcome into the run's next state.
struct Executor {
    let services: HostServices

    struct Outcome {
        var record: RunRecord
        /// The VM hit a limit (still tripped) or is otherwise suspect: do not reuse it.
        var discardVM: Bool
        /// Set when the run failed for good and its workflow has an on_failure handler.
        var startFailureHandler: JSONValue?
        /// Another worker took the run over mid-way: write nothing for it.
        var leaseLost = false
    }

    /// Executes `context.run` in `wvm` with the host API acting for it, and decides the run's next state.
    func execute(_ context: RunContext, in wvm: WorkflowVM) -> Outcome {
        let host = wvm.host
        let run = context.run
        let claim = run.claim
        context.workflowStepTimeout = wvm.definition.timeouts.step
        host.enter(context)
        defer { host.leave() }
        let vm = wvm.vm
        vm.resetLimits()
        vm.setInstructionBudget(host.instructionBudget)
        vm.setTimeLimit(context.timeLimit(step: nil).seconds)
        defer { vm.setTimeLimit(nil) }

        let flow = wvm.definition.flow
        run.seenCancels = context.batch.cancelGeneration
        // `ctx.events`: a batch's events in order (batch_events), otherwise the one event, as Inngest gives it.
        var events: [JSONValue] = [claim.event]
        if flow.batchEvents != nil, claim.kind == "run" {
            do {
                events = try Self.batchEvents(of: claim.id, conn: context.batch.conn)
            } catch {
                return fail(run, wvm: wvm, error: .object(["message": .string("the batch's events could not be read: \(error)")]),
                            retry: .policy, discard: false)
            }
        }
        var ctx: [(key: LuaValue, value: LuaValue)] = [
            (.string("event"), host.codec.decode(events.first ?? claim.event)),
            (.string("events"), .table(LuaTable(array: events.map(host.codec.decode), hash: []))),
            (.string("run_id"), .string(claim.id)),
            (.string("function_id"), .string(claim.functionID)),
            (.string("attempt"), .int(Int64(claim.attempt))),
            (.string("max_attempts"), .int(Int64(claim.maxAttempts))),
            (.string("now"), host.times.make(claim.ctxNow.timeIntervalSince1970)),
        ]
        var function = wvm.runFunction
        var args: [LuaValue] = []
        if claim.kind == "on_failure", let handler = wvm.onFailure, let runOnFailure = host.runOnFailure {
            function = runOnFailure
            let err = claim.parentError.map(host.codec.decode) ?? .nil
            ctx.append((.string("failed_run_id"), .string(claim.parentRunID ?? "")))
            args = [.function(handler), .table(LuaTable(array: [], hash: ctx)), err]
        } else {
            args = [.table(LuaTable(array: [], hash: ctx)), wvm.stepTable]
        }

        let coroutine = vm.newCoroutine(function)
        let now = { Date() }
        let outcome = resume(coroutine, args, context: context, wvm: wvm)
        if let reason = run.cancelled, !outcome.leaseLost {
            // Cancelled while it ran: what it did so far stays; it ends here whatever the script did with the error.
            return Outcome(record: RunRecord(id: claim.id, status: .cancelled, runAt: now(), attempt: claim.attempt,
                                             output: nil, error: reason, endedAt: now()),
                           discardVM: outcome.discardVM, startFailureHandler: nil)
        }
        return outcome
    }

    /// The events of a batched run, in the order they joined it.
    static func batchEvents(of run: String, conn: PGConnection) throws -> [JSONValue] {
        let rows = try conn.query("""
            SELECT jsonb_build_object('id', e.id, 'name', e.name, 'data', e.data,
                                      'ts', (extract(epoch FROM e.ts) * 1000)::bigint) AS event
            FROM blacklight.run_events re JOIN blacklight.events e ON e.id = re.event_id
            WHERE re.run_id = $1 ORDER BY re.seq
            """, [.text(run)]).rows
        return rows.compactMap { $0["event"].jsonText.flatMap { try? JSONValue.parse($0) } }
    }

    private func resume(_ coroutine: LuaCoroutine, _ args: [LuaValue], context: RunContext, wvm: WorkflowVM) -> Outcome {
        let host = wvm.host
        let run = context.run
        let claim = run.claim
        let now = { Date() }
        do {
            switch try coroutine.resume(args) {
            case .returned(let values):
                let value = values.first ?? .nil
                do {
                    let output = try context.storable(value, codec: host.codec, what: "a run output")
                    return Outcome(record: RunRecord(id: claim.id, status: .completed, runAt: now(), attempt: claim.attempt,
                                                     output: output, error: nil, endedAt: now()),
                                   discardVM: false, startFailureHandler: nil)
                } catch {
                    return fail(run, wvm: wvm, error: .object(["message": .string("the run returned a value that cannot be stored: \(error)")]),
                                retry: .never, discard: false)
                }
            case .yielded:
                if let park = run.park {
                    return Outcome(record: RunRecord(id: claim.id, status: park.status, runAt: park.until, attempt: claim.attempt,
                                                     output: nil, error: nil, endedAt: nil),
                                   discardVM: false, startFailureHandler: nil)
                }
                // A bare coroutine.yield (inside a step or not): undo the step it interrupted, like a failure.
                let message = "coroutine.yield is not allowed in a workflow outside the step API"
                if case .leaseLost = cleanUpActiveStep(run, batch: context.batch, host: host, message: message) {
                    return Outcome(record: Self.placeholder(claim), discardVM: true, startFailureHandler: nil, leaseLost: true)
                }
                return fail(run, wvm: wvm, error: .object(["message": .string(message)]), retry: .never, discard: true)
            }
        } catch {
            if context.batch.lost.contains(claim.id) {
                return Outcome(record: Self.placeholder(claim), discardVM: false, startFailureHandler: nil, leaseLost: true)
            }
            let active = run.current
            if case .leaseLost = cleanUpActiveStep(run, batch: context.batch, host: host, message: error.message) {
                return Outcome(record: Self.placeholder(claim), discardVM: false, startFailureHandler: nil, leaseLost: true)
            }
            return classify(error, run: run, wvm: wvm, activeStep: active)
        }
    }

    private static func placeholder(_ claim: ClaimedRun) -> RunRecord {
        RunRecord(id: claim.id, status: .running, runAt: Date(), attempt: claim.attempt, output: nil, error: nil, endedAt: nil)
    }

    private enum Cleanup { case done, leaseLost }

    /// A step interrupted by a limit, a bare yield or a host error skips the prelude's failure path: undo its writes
    /// here, the same way a failing step does.
    private func cleanUpActiveStep(_ run: RunExecution, batch: Batch, host: ExecutionHost, message: String) -> Cleanup {
        guard let active = run.current else { return .done }
        do {
            try host.endStep(run: run, batch: batch, active: active, succeeded: false)
        } catch let error as EngineError where error.code == .leaseLost {
            return .leaseLost
        } catch {
            host.services.log.warning("could not undo step '\(active.key)' of run \(run.claim.id): \(error)")
        }
        var text = message
        if host.vm.trippedLimit == .timeLimit { text = ExecutionHost.timeoutMessage(active) }
        host.recordFailure(run: run, batch: batch, active: active, error: .object(["message": .string(text)]))
        return .done
    }

    private enum Retry { case policy, never, after(Double) }

    /// A step that raised a limit error skips the prelude's failure path: undo its writes here, the
    /// same way a failing step does.
    private func cleanUpActiveStep(_ run: RunExecution, batch: Batch, host: ExecutionHost, error: LuaError) {
        guard let active = run.current else { return }
        try? host.endStep(run: run, batch: batch, active: active, succeeded: false)
        host.recordFailure(run: run, batch: batch, active: active, error: .object(["message": .string(error.message)]))
    }

    private func classify(_ error: LuaError, run: RunExecution, wvm: WorkflowVM, activeStep: ActiveStep?) -> Outcome {
        var message = error.message
        var traceback = error.traceback
        var retry = Retry.policy
        var discard = false
        var timeout: String?
        switch error.kind {
        case .instructionLimit, .memoryLimit:
            // A runaway or memory-hungry script would do the same again; retrying only burns a worker.
            retry = .never
            discard = true
        case .timeLimit:
            // A step that timed out may succeed next time (a slow dependency): the retry policy decides, unless
            // it was the run's own limit that ran out.
            let step = activeStep ?? run.failedActive
            if let step {
                message = ExecutionHost.timeoutMessage(step)
                timeout = step.limitIsRun ? "run" : "step"
                if step.limitIsRun { retry = .never }
            } else {
                message = "the run's code between steps timed out after its time limit"
                timeout = "step"
            }
        default:
            break
        }
        if case .table(let t)? = error.value {
            if let m = t["message"]?.asString { message = m }
            if let tb = t["traceback"]?.asString, !tb.isEmpty { traceback = tb }
            switch t["__blacklight"]?.asString {
            case "non_retriable"?:
                retry = .never
            case "retry_after"?:
                let seconds: Double
                switch t["seconds"] {
                case .string(let s)?: seconds = (try? DurationParser.seconds(s)) ?? 1
                case let v?: seconds = max(0, v.asDouble ?? 1)
                case nil: seconds = 1
                }
                retry = .after(seconds)
            default:
                break
            }
        }
        var json: [String: JSONValue] = ["message": .string(message)]
        if let traceback { json["traceback"] = .string(traceback) }
        if let step = run.failedStep { json["step"] = .string(step) }
        switch error.kind {
        case .instructionLimit: json["limit"] = .string("instructions")
        case .memoryLimit: json["limit"] = .string("memory")
        case .timeLimit: json["limit"] = .string("time")
        default: break
        }
        if let timeout { json["timeout"] = .string(timeout) }
        return fail(run, wvm: wvm, error: .object(json), retry: retry, discard: discard)
    }

    private func fail(_ run: RunExecution, wvm: WorkflowVM, error: JSONValue, retry: Retry, discard: Bool) -> Outcome {
        let claim = run.claim
        let now = Date()
        let policy = RetryPolicy(retries: claim.maxAttempts - 1, baseDelay: services.retryBaseDelay, maxDelay: services.maxRetryDelay)
        var delay: Double?
        switch retry {
        case .never: delay = nil
        case .policy: delay = policy.delayAfterFailure(attempt: claim.attempt, random: Double.random(in: 0..<1))
        case .after(let s): delay = claim.attempt < claim.maxAttempts ? s : nil
        }
        if let delay {
            return Outcome(record: RunRecord(id: claim.id, status: .queued, runAt: now.addingTimeInterval(delay),
                                             attempt: claim.attempt + 1, output: nil, error: error, endedAt: nil),
                           discardVM: discard, startFailureHandler: nil)
        }
        let handler: JSONValue? = (claim.kind == "run" && wvm.onFailure != nil) ? error : nil
        return Outcome(record: RunRecord(id: claim.id, status: .failed, runAt: now, attempt: claim.attempt,
                                         output: nil, error: error, endedAt: now),
                       discardVM: discard, startFailureHandler: handler)
    }
}
