import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ExecutionHost {
    /// `__bl.invoke(id, {function_id, data, timeout})` → park, ok, value.
    ///
    /// The first execution starts a run of `function_id` for a new `inngest/function.invoked` event (Inngest's
    /// name for it) inside this batch, marks it as invoked by this run's step, and parks this run waiting, like
    /// `wait_for_event`, until the step's timeout. The child's end completes the step with its output or error
    /// (the trigger `runs_resolve_invoke`, 0008) and queues this run at once. The child cannot start before
    /// this batch commits, so the step is always stored as waiting before the child can end.
    func invoke(_ args: LuaCallArguments) throws -> [LuaValue] {
        let fname = "step.invoke"
        let (run, batch) = try requireRun(fname)
        let id = try args.string(1, name: fname)
        if let active = run.current {
            throw EngineError.lua("\(fname)('\(id)') inside step '\(active.key)': steps cannot be nested")
        }
        try checkCancelled(run, batch: batch)
        guard case .table(let opts) = args[2] else {
            throw EngineError.lua("\(fname)('\(id)'): options must be a table {function_id = ID, data = {...}, timeout = \"10m\"}")
        }
        for (key, _) in opts.hash where !["function_id", "data", "timeout"].contains(key.asString ?? "") {
            throw EngineError.lua("\(fname)('\(id)'): unknown option '\(key.asString ?? key.typeName)' (known: function_id, data, timeout)")
        }
        guard case .string(let function)? = opts["function_id"], !function.isEmpty else {
            throw EngineError.lua("\(fname)('\(id)'): 'function_id' (the id of the workflow to run) is required")
        }
        let data: JSONValue
        switch opts["data"] {
        case nil, .nil?: data = .object([:])
        case let v?:
            data = try codec.encode(v)
            guard case .object = data else { throw EngineError.lua("\(fname)('\(id)'): 'data' must be a table with named fields") }
        }
        let timeout = try opts["timeout"].map { try duration($0, function: "\(fname)('\(id)') timeout") } ?? 86_400
        let now = Date()

        switch run.replay.wait(id) {
        case .replay(let json):
            return Self.invokeResult(json, codec: codec)
        case .startWait(let key):
            let expires = now.addingTimeInterval(timeout)
            let started = try Self.startInvoked(function: function, data: data, by: run.claim.id, step: key, conn: batch.conn)
            guard let row = started, let child = row["run_id"].stringValue else {
                throw EngineError.lua("\(fname)('\(id)'): there is no active workflow '\(function)'")
            }
            if let status = row["status"].stringValue, RunStatus(rawValue: status)?.isTerminal == true {
                // Skipped at once (a singleton held, say): nothing to wait for.
                let result: JSONValue = .object(["ok": .bool(false), "run_id": .string(child), "status": .string(status),
                                                 "error": row["error"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .null])
                record(run: run, batch: batch, key: key, kind: "invoke", output: result)
                return Self.invokeResult(result, codec: codec)
            }
            run.replay.record(key, StepMemo(status: .waiting, wakeAt: expires))
            batch.steps.append(StepRecord(runID: run.claim.id, key: key, seq: run.replay.sequence, kind: "invoke",
                                          status: .waiting, output: .object(["run_id": .string(child)]), error: nil, attempts: 1,
                                          startedAt: now, endedAt: nil, wakeAt: expires))
            batch.wantsWakeup = true
            run.park = (.waiting, expires)
            return [.bool(true)]
        case .resumeWait(let key, let expires):
            if now >= expires {
                let result: JSONValue = .object(["ok": .bool(false), "status": .string("timeout"), "error": .object([
                    "message": .string("step.invoke('\(id)'): '\(function)' did not finish within \(DurationText.format(timeout))"),
                    "timeout": .bool(true),
                ])])
                record(run: run, batch: batch, key: key, kind: "invoke", output: result)
                return Self.invokeResult(result, codec: codec)
            }
            run.park = (.waiting, expires)
            return [.bool(true)]
        default:
            throw EngineError.lua("\(fname)('\(id)'): unexpected replay state")
        }
    }

    /// park = false, then ok and the output or the error, as the prelude's `step.invoke` expects.
    static func invokeResult(_ json: JSONValue, codec: MemoCodec) -> [LuaValue] {
        if json["ok"]?.boolValue == true {
            return [.bool(false), .bool(true), codec.decode(json["output"] ?? .null)]
        }
        var error = json["error"]?.objectValue ?? [:]
        if error["message"] == nil { error["message"] = .string("the invoked run ended \(json["status"]?.stringValue ?? "without a result")") }
        if let child = json["run_id"] { error["run_id"] = child }
        if let status = json["status"] { error["status"] = status }
        return [.bool(false), .bool(false), codec.decode(.object(error))]
    }

    func record(run: RunExecution, batch: Batch, key: String, kind: String, output: JSONValue) {
        run.replay.record(key, StepMemo(status: .completed, output: output))
        batch.steps.append(StepRecord(runID: run.claim.id, key: key, seq: run.replay.sequence, kind: kind,
                                      status: .completed, output: output, error: nil, attempts: 1,
                                      startedAt: nil, endedAt: Date(), wakeAt: nil))
    }

    /// Stores the invocation event and enqueues the function's run (with its flow control), marked as invoked by
    /// the calling run's step. Nil when the function is not active (or its idempotency dropped the run). Three
    /// statements, as a statement does not see rows that a function it calls inserts.
    static func startInvoked(function: String, data: JSONValue, by parent: String, step: String, conn: PGConnection) throws -> PGRow? {
        let event = try conn.query("""
            INSERT INTO blacklight.events (id, name, data, ts)
            VALUES (blacklight.ulid(), 'inngest/function.invoked', $1::jsonb, clock_timestamp()) RETURNING id
            """, [.json(data.serialized())]).scalar
        let child = try conn.query("SELECT blacklight.enqueue_run($1, $2, $3::jsonb)", [.text(function), event, .json(data.serialized())]).scalar
        if child.isNull { return nil }
        return try conn.query("""
            UPDATE blacklight.runs SET invoked_by = $2, invoked_step = $3 WHERE id = $1 RETURNING id AS run_id, status, error
            """, [child, .text(parent), .text(step)]).rows.first
    }

    /// Before a step starts: a run that was cancelled while this batch held it (a cancel request, 0008) starts no
    /// further step. The database is asked only when this process heard of a cancel request (NOTIFY
    /// `blacklight_cancel`) since the run's batch claimed it, so runs pay nothing while nobody cancels; a request
    /// whose NOTIFY arrives late is still applied when the batch writes the run's state.
    func checkCancelled(_ run: RunExecution, batch: Batch) throws {
        if let reason = run.cancelled { throw EngineError(.cancelled, reason["message"]?.stringValue ?? "cancelled") }
        guard batch.fence != nil else { return }
        let heard = services.cancels.generation
        guard heard != run.seenCancels else { return }
        run.seenCancels = heard
        let found = try batch.conn.query("SELECT error FROM blacklight.cancel_requests WHERE run_id = $1", [.text(run.claim.id)])
        guard let row = found.rows.first else { return }
        let reason = row["error"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .object(["message": .string("cancelled")])
        run.cancelled = reason
        throw EngineError(.cancelled, "the run was cancelled: \(reason["message"]?.stringValue ?? "cancelled")")
    }
}
