import BlacklightCore
import Foundation
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
        if let r = def["rate_limit"] {
            let fields = try table(r, "rate_limit", known: ["limit", "period", "key"],
                                   example: "{ limit = 1, period = \"4h\", key = \"event.data.candidate_id\" }", id: id)
            guard case .int(let limit)? = fields["limit"], limit > 0, limit <= 1_000_000 else {
                throw EngineError(.validation, "workflow '\(id)': rate_limit.limit must be an integer from 1 to 1000000")
            }
            let period = try seconds(fields["period"], field: "rate_limit.period", range: 1...(7 * 86_400), id: id)
            flow.rateLimit = .init(limit: Int(limit), period: period, key: try key(fields["key"], field: "rate_limit.key", id: id))
        }
        if let d = def["debounce"] {
            let fields = try table(d, "debounce", known: ["period", "key", "timeout"],
                                   example: "{ period = \"30s\", key = \"event.data.job_id\", timeout = \"5m\" }", id: id)
            let period = try seconds(fields["period"], field: "debounce.period", range: 1...(7 * 86_400), id: id)
            var timeout: Double?
            if fields["timeout"] != nil {
                let t = try seconds(fields["timeout"], field: "debounce.timeout", range: 1...(7 * 86_400), id: id)
                if t < period {
                    throw EngineError(.validation, "workflow '\(id)': debounce.timeout must be at least debounce.period")
                }
                timeout = t
            }
            flow.debounce = .init(period: period, timeout: timeout, key: try key(fields["key"], field: "debounce.key", id: id))
        }
        if let b = def["batch_events"] {
            let fields = try table(b, "batch_events", known: ["max_size", "timeout", "key"],
                                   example: "{ max_size = 100, timeout = \"5s\", key = \"event.data.source\" }", id: id)
            guard case .int(let size)? = fields["max_size"], size > 0, size <= 10_000 else {
                throw EngineError(.validation, "workflow '\(id)': batch_events.max_size must be an integer from 1 to 10000")
            }
            let timeout = try seconds(fields["timeout"], field: "batch_events.timeout", range: 1...86_400, id: id)
            flow.batchEvents = .init(maxSize: Int(size), timeout: timeout, key: try key(fields["key"], field: "batch_events.key", id: id))
        }
        if let c = def["cancel_on"] { flow.cancelOn = try parseCancelOn(c, id: id) }
        return flow
    }

    /// Declarations that decide the same thing differently (when a run is due, or which event it gets) are
    /// refused together rather than given an arbitrary precedence. As Inngest, batching excludes idempotency, rate
    /// limits, cancellation by event and priority.
    static func checkCombinations(_ d: WorkflowDefinition) throws(EngineError) {
        let f = d.flow
        var declared: [String] = []
        if d.idempotencyPath != nil { declared.append("idempotency") }
        if f.rateLimit != nil { declared.append("rate_limit") }
        if f.throttle != nil { declared.append("throttle") }
        if f.priority != nil { declared.append("priority") }
        if f.singleton != nil { declared.append("singleton") }
        if f.debounce != nil { declared.append("debounce") }
        if !f.cancelOn.isEmpty { declared.append("cancel_on") }
        if f.batchEvents != nil, !declared.isEmpty {
            throw EngineError(.validation, "workflow '\(d.id)': batch_events cannot be combined with \(declared.joined(separator: ", ")) "
                + "(a batch has many events: keys, limits and priorities of one event do not apply to it)")
        }
        if f.debounce != nil, let other = ["throttle", "priority"].first(where: declared.contains) {
            throw EngineError(.validation, "workflow '\(d.id)': debounce cannot be combined with \(other) (both decide when the run starts)")
        }
    }

    private static func parseCancelOn(_ value: LuaValue, id: String) throws(EngineError) -> [WorkflowDefinition.CancelOn] {
        let example = "{ { event = \"candidate/deleted\", match = \"data.candidate_id\", timeout = \"1h\" } }"
        guard case .table(let list) = value, !list.array.isEmpty, list.hash.isEmpty else {
            throw EngineError(.validation, "workflow '\(id)': 'cancel_on' must be a list like \(example)")
        }
        var out: [WorkflowDefinition.CancelOn] = []
        for (i, item) in list.array.enumerated() {
            let field = "cancel_on[\(i + 1)]"
            let fields = try table(item, field, known: ["event", "match", "if", "timeout"], example: example, id: id)
            guard case .string(let event)? = fields["event"], !event.isEmpty else {
                throw EngineError(.validation, "workflow '\(id)': \(field).event must be the name of the event that cancels the run")
            }
            var c = WorkflowDefinition.CancelOn(event: event)
            if let m = fields["match"] {
                guard case .string(let text) = m else {
                    throw EngineError(.validation, "workflow '\(id)': \(field).match must be a field like \"data.candidate_id\"")
                }
                var keys = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                if keys.first == "event" || keys.first == "async" { keys.removeFirst() }
                let valid = keys.count >= 2 && keys[0] == "data" && keys.allSatisfy { k in
                    !k.isEmpty && k.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
                }
                if !valid {
                    throw EngineError(.validation, "workflow '\(id)': \(field).match must be a field under data, like \"data.candidate_id\" (got \"\(text)\")")
                }
                c.match = text
            }
            if let e = fields["if"] {
                guard case .string(let text) = e else {
                    throw EngineError(.validation, "workflow '\(id)': \(field).if must be an expression like \"async.data.id == event.data.id\"")
                }
                try asyncExpression(text, field: "\(field).if", id: id)
                c.condition = text
            }
            if fields["timeout"] != nil {
                c.timeout = try seconds(fields["timeout"], field: "\(field).timeout", range: 1...(366 * 86_400), id: id)
            }
            out.append(c)
        }
        return out
    }

    /// An expression over `async` (the awaited or cancelling event) and `event` (the run's own), for waits' and
    /// cancel_on's `if`.
    @discardableResult
    static func asyncExpression(_ text: String, field: String, id: String) throws(EngineError) -> String {
        let parsed: FlowExpression
        do {
            parsed = try FlowExpression(parsing: text)
        } catch {
            throw EngineError(.validation, "workflow '\(id)': \(field): invalid expression at \(error) in \"\(text)\"")
        }
        do {
            return try parsed.jsonPathPredicateOverAsync()
        } catch {
            throw EngineError(.validation, "workflow '\(id)': \(field): \(error.message)")
        }
    }

    /// A duration (\"30s\", \"4h\" or seconds) within `range`.
    private static func seconds(_ value: LuaValue?, field: String, range: ClosedRange<Double>, id: String) throws(EngineError) -> Double {
        let s: Double
        switch value {
        case .string(let text)?:
            do {
                s = try DurationParser.seconds(text)
            } catch {
                throw EngineError(.validation, "workflow '\(id)': \(field): \(error)")
            }
        case .int(let n)?: s = Double(n)
        case .number(let d)? where d.isFinite: s = d
        case nil: throw EngineError(.validation, "workflow '\(id)': \(field) is required (a duration like \"30s\")")
        default: throw EngineError(.validation, "workflow '\(id)': \(field) must be a duration like \"30s\" or \"4h\"")
        }
        if !range.contains(s) {
            throw EngineError(.validation, "workflow '\(id)': \(field) must be from \(DurationText.format(range.lowerBound)) to \(DurationText.format(range.upperBound))")
        }
        return s
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
