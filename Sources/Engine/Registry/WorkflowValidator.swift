import BlacklightCore
import Foundation
import LuaHost

/// Turns the table a script passed to `workflow { ... }` into a WorkflowDefinition, or says exactly
/// which field is wrong. Unknown fields are errors: a typo like `retires = 5` must not pass silently.
enum WorkflowValidator {
    static let knownFields: Set<String> = [
        "id", "name", "triggers", "retries", "concurrency", "idempotency", "cancel_on", "on_failure", "run",
        "description", "limits", "timeouts", "throttle", "priority", "singleton", "rate_limit", "debounce", "batch_events",
    ]

    /// `requireRun` is false for the functions of Inngest SDK apps (HTTPFunctions), whose code runs in the app.
    static func validate(_ def: LuaTable, line: Int, times: TimeType?, requireRun: Bool = true) throws(EngineError) -> WorkflowDefinition {
        func fail(_ message: String) -> EngineError {
            EngineError(.validation, message)
        }
        for (key, _) in def.hash {
            guard case .string(let k) = key else { throw fail("workflow fields must be named, got a \(key.typeName) key") }
            if !knownFields.contains(k) {
                throw fail("unknown workflow field '\(k)' (known: \(knownFields.sorted().joined(separator: ", ")))")
            }
        }
        if !def.array.isEmpty { throw fail("workflow{...} takes named fields only (id = ..., run = ...)") }

        guard case .string(let id)? = def["id"], !id.isEmpty else {
            throw fail("workflow needs an 'id' string, e.g. id = \"expire-old-jobs\"")
        }
        let idOK = id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./".unicodeScalars.contains($0) }
        if !idOK || id.count > 128 {
            throw fail("workflow id '\(id)' may only use letters, digits, '-', '_', '.' and '/' (at most 128)")
        }
        var name = id
        if let n = def["name"] {
            guard case .string(let s) = n else { throw fail("workflow '\(id)': 'name' must be a string") }
            name = s
        }
        if requireRun {
            guard case .function? = def["run"] else { throw fail("workflow '\(id)': 'run' must be a function(ctx, step)") }
        }
        var hasOnFailure = false
        if let f = def["on_failure"] {
            guard case .function = f else { throw fail("workflow '\(id)': 'on_failure' must be a function(ctx, err)") }
            hasOnFailure = true
        }
        var retries = 3
        if let r = def["retries"] {
            guard case .int(let n) = r, n >= 0, n <= 50 else {
                throw fail("workflow '\(id)': 'retries' must be an integer from 0 to 50")
            }
            retries = Int(n)
        }
        let triggers = try parseTriggers(def["triggers"], id: id)

        var limit: Int?
        var keyPath: [String]?
        if let c = def["concurrency"] {
            switch c {
            case .int(let n) where n > 0:
                limit = Int(n)
            case .table(let t):
                guard case .int(let n)? = t["limit"], n > 0 else {
                    throw fail("workflow '\(id)': concurrency needs a positive integer 'limit'")
                }
                limit = Int(n)
                if let k = t["key"] {
                    guard case .string(let path) = k, !path.isEmpty else {
                        throw fail("workflow '\(id)': concurrency 'key' must be an event data path like \"event.data.tenant_id\"")
                    }
                    keyPath = WorkflowDefinition.dataPath(path)
                }
            default:
                throw fail("workflow '\(id)': 'concurrency' must be a positive integer or { limit = N, key = \"event.data.x\" }")
            }
        }
        var idempotency: [String]?
        if let i = def["idempotency"] {
            guard case .string(let path) = i, !WorkflowDefinition.dataPath(path).isEmpty else {
                throw fail("workflow '\(id)': 'idempotency' must be an event data path like \"event.data.candidate_id\"")
            }
            idempotency = WorkflowDefinition.dataPath(path)
        }
        var definition = WorkflowDefinition(id: id, name: name, triggers: triggers, retries: retries, concurrencyLimit: limit,
                                            concurrencyKeyPath: keyPath, idempotencyPath: idempotency,
                                            hasOnFailure: hasOnFailure, line: line)
        definition.timeouts = try parseTimeouts(def["timeouts"], id: id)
        definition.flow = try parseFlowControl(def, id: id)
        try checkCombinations(definition)
        return definition
    }

    private static func parseTimeouts(_ value: LuaValue?, id: String) throws(EngineError) -> WorkflowDefinition.Timeouts {
        func fail(_ message: String) -> EngineError { EngineError(.validation, "workflow '\(id)': \(message)") }
        guard let value else { return .init() }
        guard case .table(let t) = value, t.array.isEmpty else {
            throw fail("'timeouts' must be a table like { step = \"5m\", run = \"1h\", start = \"10m\" }")
        }
        var out = WorkflowDefinition.Timeouts()
        for (key, v) in t.hash {
            guard let name = key.asString, ["step", "run", "start"].contains(name) else {
                throw fail("timeouts has an unknown field '\(key.asString ?? key.typeName)' (known: step, run, start)")
            }
            let seconds: Double
            switch v {
            case .int(let n) where n > 0: seconds = Double(n)
            case .number(let d) where d > 0 && d.isFinite: seconds = d
            case .string(let s):
                do {
                    seconds = try DurationParser.seconds(s)
                } catch {
                    throw fail("timeouts.\(name): \(error)")
                }
                if seconds <= 0 { throw fail("timeouts.\(name) must be more than 0") }
            default:
                throw fail("timeouts.\(name) must be a duration like \"30s\" or a positive number of seconds")
            }
            if seconds > 366 * 86_400 { throw fail("timeouts.\(name) must be at most a year") }
            switch name {
            case "step": out.step = seconds
            case "run": out.run = seconds
            default: out.start = seconds
            }
        }
        return out
    }

    private static func parseTriggers(_ value: LuaValue?, id: String) throws(EngineError) -> [WorkflowDefinition.Trigger] {
        func fail(_ message: String) -> EngineError { EngineError(.validation, "workflow '\(id)': \(message)") }
        guard case .table(let list)? = value, !list.array.isEmpty, list.hash.isEmpty else {
            throw fail("'triggers' must be a list like { { event = \"jobs/imported\" } } or { { cron = \"0 3 * * *\" } }")
        }
        var out: [WorkflowDefinition.Trigger] = []
        for (i, item) in list.array.enumerated() {
            guard case .table(let t) = item else { throw fail("trigger #\(i + 1) must be a table") }
            for (key, _) in t.hash {
                guard case .string(let k) = key, ["event", "filter", "expression", "cron", "timezone", "jitter"].contains(k) else {
                    throw fail("trigger #\(i + 1) has an unknown field '\(key.asString ?? key.typeName)' (known: event, filter, expression, cron, timezone, jitter)")
                }
            }
            if case .string(let name)? = t["event"] {
                if name.isEmpty { throw fail("trigger #\(i + 1): event name is empty") }
                if t["cron"] != nil { throw fail("trigger #\(i + 1) has both 'event' and 'cron'") }
                var filter: JSONValue?
                if let f = t["filter"] {
                    guard case .table = f, let json = try? MemoCodec(times: nil).encode(f), case .object = json else {
                        throw fail("trigger #\(i + 1): 'filter' must be a table of event data fields, e.g. { source = \"linkedin\" }")
                    }
                    filter = json
                }
                var expression: String?
                if let e = t["expression"] {
                    guard case .string(let text) = e else {
                        throw fail("trigger #\(i + 1): 'expression' must be a string like \"event.data.amount > 100\"")
                    }
                    _ = try Self.expression(text, field: "trigger #\(i + 1) expression", id: id)
                    expression = text
                }
                out.append(.event(name: name, filter: filter, expression: expression))
            } else if case .string(let expr)? = t["cron"] {
                var tz: String?
                if let z = t["timezone"] {
                    guard case .string(let s) = z else { throw fail("trigger #\(i + 1): 'timezone' must be a string like \"Europe/Paris\"") }
                    tz = s
                }
                var zone: TimeZone?
                if let tz {
                    guard let z = TimeZone(identifier: tz) else { throw fail("trigger #\(i + 1): unknown timezone '\(tz)'") }
                    zone = z
                }
                do {
                    _ = try CronExpression(expr, timeZone: zone)
                } catch {
                    throw fail("trigger #\(i + 1): \(error)")
                }
                var jitter = 0.0
                if let j = t["jitter"] {
                    switch j {
                    case .int(let n) where n >= 0: jitter = Double(n)
                    case .number(let d) where d >= 0: jitter = d
                    case .string(let s):
                        guard let d = try? DurationParser.seconds(s) else {
                            throw fail("trigger #\(i + 1): invalid jitter '\(s)' (use seconds or a duration like \"30s\")")
                        }
                        jitter = d
                    default: throw fail("trigger #\(i + 1): 'jitter' must be seconds or a duration string")
                    }
                }
                out.append(.cron(expression: expr, timezone: tz, jitter: jitter))
            } else {
                throw fail("trigger #\(i + 1) needs 'event = \"name\"' or 'cron = \"expression\"'")
            }
        }
        return out
    }
}
