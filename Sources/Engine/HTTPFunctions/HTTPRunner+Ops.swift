import BlacklightCore
import Foundation
import PGStore

extension HTTPRunner {
    /// Acts on the step operations of a 206 answer (comm_lib `from_call_result`, step_lib): returns to call the app
    /// again, or throws `Stop` with the run's next state.
    func apply(_ ops: [SDKOp], run: inout HTTPRunState, batch: Batch, allowPlanned: Bool) throws {
        let claim = run.claim
        var parks: [(status: RunStatus, until: Date)] = []
        for op in ops {
            let key = op.key
            let previous = run.step(key)
            let seq = previous?.seq ?? run.nextSeq
            let attempts = (previous?.attempts ?? 0) + (previous?.status == "failed" ? 1 : 0)
            switch op.code {
            case .stepRun?:
                let output = op.raw["data"] ?? .null
                if output.serialized().utf8.count > limits.outputBytes {
                    throw Stop.record(fail(claim, error: .object(["message": .string(
                        "step '\(key)' returned \(output.serialized().utf8.count) bytes of JSON, over the \(limits.outputBytes)-byte output limit")]),
                        retry: false, at: nil))
                }
                run.record(HTTPStep(key: key, kind: "run", status: "completed", output: output, error: nil, wakeAt: nil, seq: seq,
                                    attempts: max(1, attempts)), batch: batch)
            case .stepError?, .stepFailed?:
                var error = op.raw["error"]?.objectValue ?? ["message": .string("step '\(key)' failed")]
                let final = op.code == .stepFailed || error["code"]?.stringValue == "non_retriable_error"
                error["final"] = final ? .bool(true) : nil
                run.record(HTTPStep(key: key, kind: "run", status: "failed", output: nil, error: .object(error), wakeAt: nil, seq: seq,
                                    attempts: max(1, attempts)), batch: batch)
                if !final {
                    // This attempt failed; the run is retried with its backoff and the app runs the step again.
                    error["step"] = .string(key)
                    throw Stop.record(fail(claim, error: .object(error), retry: true, at: nil))
                }
                // Failed for good: the app is called again with the error memoized, and raises it in the function.
            case .planned?:
                guard allowPlanned else {
                    throw Stop.record(fail(claim, error: .object(["message": .string(
                        "the app planned step '\(key)' while running a planned step; parallel steps cannot nest")]), retry: false, at: nil))
                }
                // Parallel steps run one after another, each by its own targeted call; the app's next discovery
                // call finds them all memoized. Results are the same as Inngest's; only the wall time differs.
                switch try call(run, target: op.id, batch: batch) {
                case .ops(let inner): try apply(inner, run: &run, batch: batch, allowPlanned: false)
                case .finished(let output):
                    throw Stop.record(RunRecord(id: claim.id, status: .completed, runAt: Date(), attempt: claim.attempt,
                                                output: output, error: nil, endedAt: Date()))
                case .failed(let error, let retry, let at): throw Stop.record(fail(claim, error: error, retry: retry, at: at))
                }
            case .sleep?:
                guard let until = op.name.flatMap(SDKReply.isoDate)
                        ?? (op.opts?["duration"]?.stringValue).flatMap({ try? DurationParser.seconds($0) }).map({ Date().addingTimeInterval($0) }) else {
                    throw Stop.record(fail(claim, error: .object(["message": .string("sleep '\(key)': no time to sleep until in \(op.raw.serialized())")]),
                                           retry: false, at: nil))
                }
                if previous == nil {
                    run.record(HTTPStep(key: key, kind: "sleep", status: "sleeping", output: nil, error: nil, wakeAt: until, seq: seq, attempts: 1),
                               batch: batch)
                }
                parks.append((.sleeping, previous?.wakeAt ?? until))
            case .waitForEvent?:
                if let park = try startWait(op, key: key, seq: seq, run: &run, batch: batch) { parks.append(park) }
            case .invoke?:
                if let park = try startInvoke(op, key: key, seq: seq, run: &run, batch: batch) { parks.append(park) }
            case nil:
                throw Stop.record(fail(claim, error: .object(["message": .string(
                    "the app asked for '\(op.op)' (step '\(op.displayName)'), which Blacklight does not support")]), retry: false, at: nil))
            }
        }
        if let until = parks.map(\.until).min() {
            let status: RunStatus = parks.contains { $0.status == .waiting } ? .waiting : .sleeping
            throw Stop.record(RunRecord(id: claim.id, status: status, runAt: until, attempt: claim.attempt, output: nil, error: nil, endedAt: nil))
        }
    }

    /// Before calling the app: sleeps that are due and waits that timed out (or whose event came) are completed;
    /// while any step is still parked the run parks again without a call.
    func resolveParked(_ run: inout HTTPRunState, batch: Batch) throws {
        let now = Date()
        var parks: [(status: RunStatus, until: Date)] = []
        for step in run.steps where step.status == "sleeping" || step.status == "waiting" {
            var done = step
            done.status = "completed"
            done.wakeAt = nil
            let due = step.wakeAt.map { $0 <= now } ?? true
            switch step.kind {
            case "sleep":
                if due { done.output = nil; run.record(done, batch: batch) } else { parks.append((.sleeping, step.wakeAt ?? now)) }
            case "wait":
                if let event = try findAwaited(run: run.claim.id, key: step.key, conn: batch.conn) {
                    done.output = event
                    run.record(done, batch: batch)
                } else if due {
                    try batch.conn.exec("DELETE FROM blacklight.waits WHERE run_id = $1 AND step_key = $2", [.text(run.claim.id), .text(step.key)])
                    done.output = .null
                    run.record(done, batch: batch)
                } else {
                    parks.append((.waiting, min(step.wakeAt ?? now, now.addingTimeInterval(0.2))))
                }
            case "invoke":
                if due {
                    done.output = .object(["ok": .bool(false), "status": .string("timeout"), "error": .object([
                        "message": .string("step.invoke('\(step.key)'): the invoked function did not finish in time"), "timeout": .bool(true),
                    ])])
                    run.record(done, batch: batch)
                } else {
                    parks.append((.waiting, step.wakeAt ?? now))
                }
            default:
                break
            }
        }
        if let until = parks.map(\.until).min() {
            let status: RunStatus = parks.contains { $0.status == .waiting } ? .waiting : .sleeping
            throw Stop.record(RunRecord(id: run.claim.id, status: status, runAt: until, attempt: run.claim.attempt,
                                        output: nil, error: nil, endedAt: nil))
        }
    }

    /// `step.wait_for_event`: the event named `name`, matching `opts.if` (`async` is the awaited event, `event` the
    /// run's), received since the run was created, within `opts.timeout`. Registered as Lua waits are (a `waits` row
    /// ingest resolves, with the same advisory-lock handshake against the race with ingest; see ExecutionHost.wait).
    private func startWait(_ op: SDKOp, key: String, seq: Int, run: inout HTTPRunState, batch: Batch) throws -> (status: RunStatus, until: Date)? {
        let claim = run.claim
        if let previous = run.step(key), previous.status == "waiting" { return (.waiting, previous.wakeAt ?? Date()) }
        guard let eventName = op.name, !eventName.isEmpty else {
            throw Stop.record(fail(claim, error: .object(["message": .string("wait_for_event '\(key)': no event name")]), retry: false, at: nil))
        }
        let timeout = (op.opts?["timeout"]?.stringValue).flatMap { try? DurationParser.seconds($0) } ?? 86_400
        var condition: String?
        if let text = op.opts?["if"]?.stringValue, !text.isEmpty {
            do {
                condition = try FlowExpression(parsing: text).jsonPathPredicateOverAsync()
            } catch {
                throw Stop.record(fail(claim, error: .object(["message": .string(
                    "wait_for_event '\(key)': the 'if' expression \"\(text)\" is not supported: \(error)")]), retry: false, at: nil))
            }
        }
        let vars: JSONValue = .object(["event": claim.event])
        let now = Date()
        let expires = now.addingTimeInterval(timeout)
        try batch.conn.exec("""
            INSERT INTO blacklight.waits (run_id, step_key, event_name, match, after, expires_at, expression, vars)
            VALUES ($1, $2, $3, '{}', $4, $5, $6::jsonpath, $7) ON CONFLICT (run_id, step_key) DO NOTHING
            """, [.text(claim.id), .text(key), .text(eventName), .timestamp(claim.createdAt), .timestamp(expires),
                  condition.map { .text($0) } ?? .null, condition == nil ? .null : .json(vars.serialized())])
        if let event = try findAwaited(run: claim.id, key: key, conn: batch.conn) {
            run.record(HTTPStep(key: key, kind: "wait", status: "completed", output: event, error: nil, wakeAt: nil, seq: seq, attempts: 1),
                       batch: batch)
            return nil
        }
        run.record(HTTPStep(key: key, kind: "wait", status: "waiting", output: nil, error: nil, wakeAt: expires, seq: seq, attempts: 1),
                   batch: batch)
        return (.waiting, expires)
    }

    /// Looks for an event that already arrived for a registered wait; deletes the wait when found. The lock is only
    /// tried (see ExecutionHost.wait); when it is busy the caller parks for 200 ms and looks again.
    private func findAwaited(run: String, key: String, conn: PGConnection) throws -> JSONValue? {
        guard let wait = try conn.query("""
            SELECT event_name, after, expression::text AS expression, vars FROM blacklight.waits WHERE run_id = $1 AND step_key = $2
            """, [.text(run), .text(key)]).rows.first, let name = wait["event_name"].stringValue else { return nil }
        let locked = try conn.query("SELECT pg_try_advisory_xact_lock(1651, hashtext($1)) AS ok", [.text(name)]).rows.first?["ok"].boolValue ?? false
        guard locked else { return nil }
        let own = try conn.query("SELECT e.id FROM blacklight.runs r JOIN blacklight.events e ON e.id = r.event_id WHERE r.id = $1",
                                 [.text(run)]).rows.first?["id"].stringValue ?? ""
        let found = try conn.query(ExecutionHost.findEvent, [
            .text(name), wait["after"].dateValue.map { .timestamp($0) } ?? .null, .text(own), .json("{}"),
            wait["expression"].stringValue.map { .text($0) } ?? .null, wait["vars"].jsonText.map { .json($0) } ?? .json("{}"),
        ])
        guard let raw = found.rows.first?["event"].jsonText, let event = try? JSONValue.parse(raw) else { return nil }
        try conn.exec("DELETE FROM blacklight.waits WHERE run_id = $1 AND step_key = $2", [.text(run), .text(key)])
        return event
    }

    /// `step.invoke`: starts a run of the named function (an http function of any app, or a Lua workflow) for an
    /// `inngest/function.invoked` event, as Lua's step.invoke does; the child's end completes the step (0008's
    /// `runs_resolve_invoke`) and queues this run. The SDK names the function `<app>-<id>`: a Lua workflow is found by
    /// its own id once the calling app's prefix is taken off.
    private func startInvoke(_ op: SDKOp, key: String, seq: Int, run: inout HTTPRunState, batch: Batch) throws -> (status: RunStatus, until: Date)? {
        let claim = run.claim
        if let previous = run.step(key), previous.status == "waiting" { return (.waiting, previous.wakeAt ?? Date()) }
        let named = op.opts?["function_id"]?.stringValue ?? ""
        var candidates = [named]
        let prefix = run.function.app + "-"
        if named.hasPrefix(prefix) { candidates.append(String(named.dropFirst(prefix.count))) }
        let active = Set(try batch.conn.query("SELECT id FROM blacklight.functions WHERE id = ANY($1::text[]) AND active_version IS NOT NULL",
                                              [.array(candidates.map { .text($0) })]).rows.compactMap { $0["id"].stringValue })
        let data = op.opts?["payload"]?["data"]?.objectValue.map { JSONValue.object($0) } ?? .object([:])
        let timeout = (op.opts?["timeout"]?.stringValue).flatMap { try? DurationParser.seconds($0) } ?? 86_400
        let now = Date()
        guard let function = candidates.first(where: active.contains),
              let row = try ExecutionHost.startInvoked(function: function, data: data, by: claim.id, step: key, conn: batch.conn),
              let child = row["run_id"].stringValue else {
            let result: JSONValue = .object(["ok": .bool(false), "status": .string("not_found"), "error": .object([
                "message": .string("step.invoke('\(op.displayName)'): there is no active function '\(named)'"),
            ])])
            run.record(HTTPStep(key: key, kind: "invoke", status: "completed", output: result, error: nil, wakeAt: nil, seq: seq, attempts: 1),
                       batch: batch)
            return nil
        }
        if let status = row["status"].stringValue, RunStatus(rawValue: status)?.isTerminal == true {
            let result: JSONValue = .object(["ok": .bool(false), "run_id": .string(child), "status": .string(status),
                                             "error": row["error"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .null])
            run.record(HTTPStep(key: key, kind: "invoke", status: "completed", output: result, error: nil, wakeAt: nil, seq: seq, attempts: 1),
                       batch: batch)
            return nil
        }
        let expires = now.addingTimeInterval(timeout)
        run.record(HTTPStep(key: key, kind: "invoke", status: "waiting", output: .object(["run_id": .string(child)]), error: nil,
                            wakeAt: expires, seq: seq, attempts: 1), batch: batch)
        batch.wantsWakeup = true
        return (.waiting, expires)
    }
}
