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
    }

    func execute(_ run: RunExecution, in wvm: WorkflowVM, batch: Batch) -> Outcome {
        let host = wvm.host
        let claim = run.claim
        host.run = run
        host.batch = batch
        defer {
            host.run = nil
            host.batch = nil
        }
        let vm = wvm.vm
        vm.resetLimits()
        vm.setInstructionBudget(host.instructionBudget)

        var ctx: [(key: LuaValue, value: LuaValue)] = [
            (.string("event"), host.codec.decode(claim.event)),
            (.string("run_id"), .string(claim.id)),
            (.string("function_id"), .string(claim.functionID)),
            (.string("attempt"), .int(Int64(claim.attempt))),
            (.string("max_attempts"), .int(Int64(claim.maxAttempts))),
            (.string("now"), host.times.make(claim.ctxNow.timeIntervalSince1970)),
        ]
        var function = wvm.runFunction
        var args: [LuaValue] = []
        if claim.kind == "on_failure", let handler = wvm.onFailure {
            function = handler
            let err = claim.parentError.map(host.codec.decode) ?? .nil
            ctx.append((.string("error"), err))
            ctx.append((.string("failed_run_id"), .string(claim.parentRunID ?? "")))
            args = [.table(LuaTable(array: [], hash: ctx)), err]
        } else {
            args = [.table(LuaTable(array: [], hash: ctx)), wvm.stepTable]
        }

        let coroutine = vm.newCoroutine(function)
        let now = { Date() }
        do {
            switch try coroutine.resume(args) {
            case .returned(let values):
                let value = values.first ?? .nil
                do {
                    let output = try host.codec.encode(value)
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
                return fail(run, wvm: wvm, error: .object(["message": .string("coroutine.yield is not allowed in a workflow outside the step API")]),
                            retry: .never, discard: true)
            }
        } catch {
            cleanUpActiveStep(run, batch: batch, host: host, error: error)
            return classify(error, run: run, wvm: wvm)
        }
    }

    private enum Retry { case policy, never, after(Double) }

    /// A step that raised a limit error skips the prelude's failure path: undo its writes here, the
    /// same way a failing step does.
    private func cleanUpActiveStep(_ run: RunExecution, batch: Batch, host: ExecutionHost, error: LuaError) {
        guard let active = run.current else { return }
        try? host.endStep(run: run, batch: batch, active: active, succeeded: false)
        host.recordFailure(run: run, batch: batch, active: active, error: .object(["message": .string(error.message)]))
    }

    private func classify(_ error: LuaError, run: RunExecution, wvm: WorkflowVM) -> Outcome {
        var message = error.message
        var traceback = error.traceback
        var retry = Retry.policy
        var discard = false
        switch error.kind {
        case .instructionLimit, .memoryLimit:
            // A runaway or memory-hungry script would do the same again; retrying only burns a worker.
            retry = .never
            discard = true
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
        default: break
        }
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
