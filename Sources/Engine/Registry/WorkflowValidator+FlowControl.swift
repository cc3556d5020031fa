import BlacklightCore
import LuaHost

/// `throttle`, `priority`, `singleton` and trigger expressions: each refusal names the field and, for an
/// expression, the column; WorkflowVM adds the file and the line of `workflow {`.
extension WorkflowValidator {
    static func parseFlowControl(_ def: LuaTable, id: String) throws(EngineError) -> WorkflowDefinition.FlowControl {
        var flow = WorkflowDefinition.FlowControl()
        if let t = def["throttle"] { flow.throttle = try parseThrottle(t, id: id) }
        if let p = def["priority"] {
            let fields = try table(p, "priority", known: ["run"], example: "{ run = \"event.data.plan == 'enterprise' ? 120 : 0\" }", id: id)
            guard case .string(let run)? = fields["run"] else {
                throw EngineError(.validation, "workflow '\(id)': priority needs 'run', an expression giving seconds (−600…600)")
            }
            _ = try expression(run, field: "priority.run", id: id)
            flow.priority = .init(run: run)
        }
        if let s = def["singleton"] {
            let fields = try table(s, "singleton", known: ["key", "mode"], example: "{ key = \"event.data.candidate_id\", mode = \"skip\" }", id: id)
            var mode = WorkflowDefinition.Singleton.Mode.skip
            if let m = fields["mode"] {
                guard case .string(let text) = m, let parsed = WorkflowDefinition.Singleton.Mode(rawValue: text) else {
                    throw EngineError(.validation, "workflow '\(id)': singleton.mode must be \"skip\" or \"cancel\"")
                }
                mode = parsed
            }
            flow.singleton = .init(key: try key(fields["key"], field: "singleton.key", id: id), mode: mode)
        }
        return flow
    }

    /// Parses a trigger's or a declaration's expression, refusing `async` (only waits define it).
    static func expression(_ text: String, field: String, id: String) throws(EngineError) -> FlowExpression {
        let parsed: FlowExpression
        do {
            parsed = try FlowExpression(parsing: text)
        } catch {
            throw EngineError(.validation, "workflow '\(id)': \(field): invalid expression at \(error) in \"\(text)\"")
        }
        if parsed.roots.contains(.async) {
            throw EngineError(.validation, "workflow '\(id)': \(field): 'async' is only defined in waits; use event.data... here")
        }
        do {
            _ = try parsed.jsonPathPredicate()
        } catch {
            throw EngineError(.validation, "workflow '\(id)': \(field): \(error.message)")
        }
        return parsed
    }

    private static func parseThrottle(_ value: LuaValue, id: String) throws(EngineError) -> WorkflowDefinition.Throttle {
        func fail(_ message: String) -> EngineError { EngineError(.validation, "workflow '\(id)': throttle.\(message)") }
        let fields = try table(value, "throttle", known: ["limit", "period", "key", "burst"],
                               example: "{ limit = 10, period = \"1m\", key = \"event.data.tenant_id\", burst = 2 }", id: id)
        guard case .int(let limit)? = fields["limit"], limit > 0, limit <= 1_000_000 else {
            throw fail("limit must be an integer from 1 to 1000000")
        }
        let period: Double
        switch fields["period"] {
        case .string(let text)?:
            do {
                period = try DurationParser.seconds(text)
            } catch {
                throw fail("period: \(error)")
            }
        case .int(let n)?: period = Double(n)
        case .number(let d)? where d.isFinite: period = d
        default: throw fail("period must be a duration like \"1m\" or \"4h\"")
        }
        if !(period >= 1 && period <= 7 * 86_400) { throw fail("period must be from 1s to 7 days") }
        var burst = 0
        if let b = fields["burst"] {
            guard case .int(let n) = b, n >= 0, n <= 1_000_000 else { throw fail("burst must be an integer from 0 to 1000000") }
            burst = Int(n)
        }
        return .init(limit: Int(limit), period: period, burst: burst, key: try key(fields["key"], field: "throttle.key", id: id))
    }

    /// Keys are paths under `event.data`, read in SQL with `data #>> path` (other expressions are not keys yet).
    private static func key(_ value: LuaValue?, field: String, id: String) throws(EngineError) -> String? {
        guard let value else { return nil }
        guard case .string(let text) = value else {
            throw EngineError(.validation, "workflow '\(id)': \(field) must be an expression like \"event.data.tenant_id\"")
        }
        let parsed = try expression(text, field: field, id: id)
        guard parsed.eventDataPath != nil else {
            throw EngineError(.validation, "workflow '\(id)': \(field) must be a path under event.data, like \"event.data.tenant_id\"")
        }
        return text
    }

    private static func table(_ value: LuaValue, _ field: String, known: [String], example: String,
                              id: String) throws(EngineError) -> [String: LuaValue] {
        guard case .table(let t) = value, t.array.isEmpty else {
            throw EngineError(.validation, "workflow '\(id)': '\(field)' must be a table like \(example)")
        }
        var out: [String: LuaValue] = [:]
        for (k, v) in t.hash {
            guard let name = k.asString, known.contains(name) else {
                throw EngineError(.validation, "workflow '\(id)': \(field) has an unknown field '\(k.asString ?? k.typeName)' (known: \(known.joined(separator: ", ")))")
            }
            out[name] = v
        }
        return out
    }
}
