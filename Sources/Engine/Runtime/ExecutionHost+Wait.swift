import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ExecutionHost {
    /// `__bl.wait(id, {event, match, timeout})` → park, value.
    ///
    /// Race with ingest: a worker registering a wait holds an exclusive advisory lock on the event name
    /// while it searches the events already received and registers the wait; ingest holds the shared
    /// lock while it stores an event and resolves waits. So either this search sees the event or the
    /// ingest sees the wait. The lock is only tried (no blocking, so no deadlock with an ingest that
    /// waits on one of our row locks); when it is busy the run re-checks 200 ms later.
    func wait(_ args: LuaCallArguments) throws -> [LuaValue] {
        let fname = "step.wait_for_event"
        let (run, batch) = try requireRun(fname)
        let id = try args.string(1, name: fname)
        if let active = run.current {
            throw EngineError.lua("\(fname)('\(id)') inside step '\(active.key)': steps cannot be nested")
        }
        guard case .table(let opts) = args[2] else {
            throw EngineError.lua("\(fname)('\(id)'): options must be a table {event = NAME, match = ..., timeout = ...}")
        }
        guard case .string(let eventName)? = opts["event"], !eventName.isEmpty else {
            throw EngineError.lua("\(fname)('\(id)'): 'event' (the event name to wait for) is required")
        }
        guard let timeoutValue = opts["timeout"] else {
            throw EngineError.lua("\(fname)('\(id)'): 'timeout' is required, e.g. timeout = \"1h\"")
        }
        let timeout = try duration(timeoutValue, function: "\(fname)('\(id)')")
        let match = try waitMatch(opts["match"], run: run, function: "\(fname)('\(id)')")
        var condition: String?
        if let value = opts["if"] {
            guard case .string(let text) = value else {
                throw EngineError.lua("\(fname)('\(id)'): 'if' must be an expression like \"async.data.job_id == event.data.job_id\"")
            }
            do {
                condition = try FlowExpression(parsing: text).jsonPathPredicateOverAsync()
            } catch {
                throw EngineError.lua("\(fname)('\(id)'): 'if': invalid expression at \(error) in \"\(text)\"")
            }
        }
        // `event` in the expression is the run's triggering event, bound as a path variable.
        let vars: JSONValue = .object(["event": run.claim.event])
        try checkCancelled(run, batch: batch)
        let now = Date()

        let key: String
        let expires: Date
        let isNew: Bool
        switch run.replay.wait(id) {
        case .replay(let json):
            return [.bool(false), codec.decode(json)]
        case .startWait(let k):
            key = k
            expires = now.addingTimeInterval(timeout)
            isNew = true
        case .resumeWait(let k, let e):
            key = k
            expires = e
            isNew = false
        default:
            throw EngineError.lua("\(fname)('\(id)'): unexpected replay state")
        }

        let conn = batch.conn
        let locked = try conn.query("SELECT pg_try_advisory_xact_lock(1651, hashtext($1)) AS ok", [.text(eventName)])
            .rows.first?["ok"].boolValue ?? false
        if locked {
            let found = try conn.query(Self.findEvent, [
                .text(eventName), .timestamp(run.claim.createdAt), .text(run.claim.event["id"]?.stringValue ?? ""),
                .json(match.serialized()), condition.map { .text($0) } ?? .null, .json(vars.serialized()),
            ])
            if let row = found.rows.first, let raw = row["event"].jsonText, let event = try? JSONValue.parse(raw) {
                if !isNew {
                    try conn.exec("DELETE FROM blacklight.waits WHERE run_id = $1 AND step_key = $2", [.text(run.claim.id), .text(key)])
                }
                complete(run: run, batch: batch, key: key, output: event)
                return [.bool(false), codec.decode(event)]
            }
        }
        if !isNew && now >= expires {
            try conn.exec("DELETE FROM blacklight.waits WHERE run_id = $1 AND step_key = $2", [.text(run.claim.id), .text(key)])
            complete(run: run, batch: batch, key: key, output: .null)
            return [.bool(false), .nil]
        }
        if isNew {
            try conn.exec("""
                INSERT INTO blacklight.waits (run_id, step_key, event_name, match, after, expires_at, expression, vars)
                VALUES ($1, $2, $3, $4, $5, $6, $7::jsonpath, $8) ON CONFLICT (run_id, step_key) DO NOTHING
                """, [.text(run.claim.id), .text(key), .text(eventName), .json(match.serialized()),
                      .timestamp(run.claim.createdAt), .timestamp(expires), condition.map { .text($0) } ?? .null,
                      condition == nil ? .null : .json(vars.serialized())])
            run.replay.record(key, StepMemo(status: .waiting, wakeAt: expires))
            batch.steps.append(StepRecord(runID: run.claim.id, key: key, seq: run.replay.sequence, kind: "wait",
                                          status: .waiting, output: nil, error: nil, attempts: 1,
                                          startedAt: now, endedAt: nil, wakeAt: expires))
        }
        let recheck = now.addingTimeInterval(0.2)
        run.park = (.waiting, locked ? expires : min(expires, recheck))
        return [.bool(true)]
    }

    private func complete(run: RunExecution, batch: Batch, key: String, output: JSONValue) {
        run.replay.record(key, StepMemo(status: .completed, output: output))
        batch.steps.append(StepRecord(runID: run.claim.id, key: key, seq: run.replay.sequence, kind: "wait",
                                      status: .completed, output: output, error: nil, attempts: 1,
                                      startedAt: nil, endedAt: Date(), wakeAt: nil))
    }

    /// `match = "data.candidate_id"` compares that field with the triggering event's;
    /// `match = { ["data.candidate_id"] = 42 }` gives the values. Both become a jsonb containment.
    func waitMatch(_ value: LuaValue?, run: RunExecution, function: String) throws -> JSONValue {
        var pairs: [([String], JSONValue)] = []
        switch value {
        case nil, .nil?:
            break
        case .string(let path)?:
            var parts = path.split(separator: ".").map(String.init)
            if parts.first == "event" || parts.first == "async" { parts.removeFirst() }
            guard let v = run.claim.event.value(atPath: parts.joined(separator: ".")), v != .null else {
                throw EngineError.lua("\(function): match '\(path)': the triggering event has no value there")
            }
            pairs.append((parts, v))
        case .table(let t)?:
            for (k, v) in t.hash {
                guard case .string(let path) = k else { throw EngineError.lua("\(function): match keys must be paths like \"data.id\"") }
                var parts = path.split(separator: ".").map(String.init)
                if parts.first == "event" || parts.first == "async" { parts.removeFirst() }
                pairs.append((parts, try codec.encode(v)))
            }
        default:
            throw EngineError.lua("\(function): 'match' must be a path string like \"data.candidate_id\" or a table of path = value")
        }
        var root: JSONValue = .object([:])
        for (path, v) in pairs { root = Self.insert(v, at: path[...], into: root) }
        return root
    }

    private static func insert(_ value: JSONValue, at path: ArraySlice<String>, into node: JSONValue) -> JSONValue {
        guard let head = path.first else { return value }
        var members = node.objectValue ?? [:]
        members[head] = insert(value, at: path.dropFirst(), into: members[head] ?? .object([:]))
        return .object(members)
    }

    static let findEvent = """
        SELECT jsonb_build_object('id', id, 'name', name, 'data', data,
                                  'ts', (extract(epoch FROM ts) * 1000)::bigint) AS event
        FROM blacklight.events
        WHERE name = $1 AND received_at >= $2 AND id <> $3
          AND jsonb_build_object('id', id, 'name', name, 'data', data) @> $4::jsonb
          AND ($5::jsonpath IS NULL OR jsonb_path_match(jsonb_build_object('id', id, 'name', name, 'data', data),
                                                        $5::jsonpath, $6::jsonb, true))
        ORDER BY received_at LIMIT 1
        """
}
