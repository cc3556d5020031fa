import BlacklightCore

extension WorkflowDefinition {
    /// How runs are fed (issue 11). Decided in SQL at ingest (0006_flow_control.sql, 0008_flow_control_events.sql)
    /// from the config written here.
    public struct FlowControl: Sendable, Equatable {
        public var throttle: Throttle?
        public var priority: Priority?
        public var singleton: Singleton?
        public var rateLimit: RateLimit?
        public var debounce: Debounce?
        public var batchEvents: BatchEvents?
        public var cancelOn: [CancelOn] = []

        public init(throttle: Throttle? = nil, priority: Priority? = nil, singleton: Singleton? = nil) {
            self.throttle = throttle
            self.priority = priority
            self.singleton = singleton
        }
    }

    /// Runs start at most `limit` per `period` seconds per key, plus `burst`; the rest wait in order.
    public struct Throttle: Sendable, Equatable {
        public var limit: Int
        public var period: Double
        public var burst: Int
        /// The key expression as written (`event.data.tenant_id`), nil for one throttle per function.
        public var key: String?
    }

    /// At most `limit` events per `period` per key start a run; the others are recorded as skipped.
    public struct RateLimit: Sendable, Equatable {
        public var limit: Int
        public var period: Double
        public var key: String?
    }

    /// One run per key with the last event, after `period` without a new one; `timeout` caps the delay.
    public struct Debounce: Sendable, Equatable {
        public var period: Double
        public var timeout: Double?
        public var key: String?
    }

    /// One run receives up to `maxSize` events of a key (`ctx.events`), when full or `timeout` after the first.
    public struct BatchEvents: Sendable, Equatable {
        public var maxSize: Int
        public var timeout: Double
        public var key: String?
    }

    /// An event named `event` cancels the run when `match` (a field equal in both events) and `if` (an
    /// expression over `async`, the cancelling event, and `event`, the run's) hold, within `timeout` of its start.
    public struct CancelOn: Sendable, Equatable {
        public var event: String
        public var match: String?
        public var condition: String?
        public var timeout: Double?

        /// `match` and `if` as one expression over `async` and `event`; nil when neither is given.
        public var expression: FlowExpression? {
            var parts: [FlowExpression] = []
            if let match {
                var keys = match.split(separator: ".").map(String.init)
                if keys.first == "event" || keys.first == "async" { keys.removeFirst() }
                parts.append(.compare(.equal, .path(.async, keys), .path(.event, keys)))
            }
            if let condition, let parsed = try? FlowExpression(parsing: condition) { parts.append(parsed) }
            guard var out = parts.first else { return nil }
            for p in parts.dropFirst() { out = .and(out, p) }
            return out
        }
    }

    /// `priority.run`: seconds (−600…600) a run moves ahead in the queue (negative: later).
    public struct Priority: Sendable, Equatable {
        public static let bound = 600.0
        public var run: String
    }

    /// At most one unfinished run per key: a new one is skipped, or cancels the unfinished one.
    public struct Singleton: Sendable, Equatable {
        public enum Mode: String, Sendable, Equatable { case skip, cancel }
        public var key: String?
        public var mode: Mode
    }

    /// The `event.data` keys of a validated key expression.
    static func keyPath(_ key: String?) -> [String]? {
        key.flatMap { try? FlowExpression(parsing: $0) }?.eventDataPath
    }

    var flowConfig: [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        if let t = flow.throttle {
            var c: [String: JSONValue] = ["limit": .int(Int64(t.limit)), "period": .double(t.period), "burst": .int(Int64(t.burst))]
            if let key = t.key, let path = Self.keyPath(key) {
                c["key"] = .string(key)
                c["key_path"] = .array(path.map { .string($0) })
            }
            o["throttle"] = .object(c)
        }
        if let p = flow.priority, let branches = try? FlowExpression(parsing: p.run).jsonPathBranches() {
            o["priority"] = .object([
                "run": .string(p.run),
                "branches": .array(branches.map { b in
                    var branch: [String: JSONValue] = ["value": .string(b.value)]
                    if let when = b.when { branch["when"] = .string(when) }
                    return .object(branch)
                }),
            ])
        }
        if let r = flow.rateLimit {
            o["rate_limit"] = Self.keyed(["limit": .int(Int64(r.limit)), "period": .double(r.period)], key: r.key)
        }
        if let d = flow.debounce {
            var c: [String: JSONValue] = ["period": .double(d.period)]
            if let t = d.timeout { c["timeout"] = .double(t) }
            o["debounce"] = Self.keyed(c, key: d.key)
        }
        if let b = flow.batchEvents {
            o["batch_events"] = Self.keyed(["max_size": .int(Int64(b.maxSize)), "timeout": .double(b.timeout)], key: b.key)
        }
        if !flow.cancelOn.isEmpty {
            o["cancel_on"] = .array(flow.cancelOn.map { c in
                var item: [String: JSONValue] = ["event": .string(c.event)]
                if let m = c.match { item["match"] = .string(m) }
                if let i = c.condition { item["if"] = .string(i) }
                if let t = c.timeout { item["timeout"] = .double(t) }
                if let path = try? c.expression?.jsonPathPredicateOverAsync() { item["path"] = .string(path) }
                return .object(item)
            })
        }
        if let s = flow.singleton {
            var c: [String: JSONValue] = ["mode": .string(s.mode.rawValue)]
            if let key = s.key, let path = Self.keyPath(key) {
                c["key"] = .string(key)
                c["key_path"] = .array(path.map { .string($0) })
            }
            o["singleton"] = .object(c)
        }
        return o
    }

    private static func keyed(_ fields: [String: JSONValue], key: String?) -> JSONValue {
        var c = fields
        if let key, let path = keyPath(key) {
            c["key"] = .string(key)
            c["key_path"] = .array(path.map { .string($0) })
        }
        return .object(c)
    }

    static func flow(config: JSONValue) -> FlowControl {
        var flow = FlowControl()
        if let t = config["throttle"], let limit = t["limit"]?.intValue, let period = t["period"]?.doubleValue {
            flow.throttle = Throttle(limit: Int(limit), period: period, burst: Int(t["burst"]?.intValue ?? 0), key: t["key"]?.stringValue)
        }
        if let run = config["priority"]?["run"]?.stringValue { flow.priority = Priority(run: run) }
        if let s = config["singleton"], let mode = Singleton.Mode(rawValue: s["mode"]?.stringValue ?? "") {
            flow.singleton = Singleton(key: s["key"]?.stringValue, mode: mode)
        }
        if let r = config["rate_limit"], let limit = r["limit"]?.intValue, let period = r["period"]?.doubleValue {
            flow.rateLimit = RateLimit(limit: Int(limit), period: period, key: r["key"]?.stringValue)
        }
        if let d = config["debounce"], let period = d["period"]?.doubleValue {
            flow.debounce = Debounce(period: period, timeout: d["timeout"]?.doubleValue, key: d["key"]?.stringValue)
        }
        if let b = config["batch_events"], let size = b["max_size"]?.intValue, let timeout = b["timeout"]?.doubleValue {
            flow.batchEvents = BatchEvents(maxSize: Int(size), timeout: timeout, key: b["key"]?.stringValue)
        }
        flow.cancelOn = (config["cancel_on"]?.arrayValue ?? []).compactMap { c in
            guard let event = c["event"]?.stringValue else { return nil }
            return CancelOn(event: event, match: c["match"]?.stringValue, condition: c["if"]?.stringValue,
                            timeout: c["timeout"]?.doubleValue)
        }
        return flow
    }

    /// The compiled SQL/JSON path of a trigger expression (validated, so it compiles).
    static func triggerPath(_ expression: String) -> String? {
        try? FlowExpression(parsing: expression).jsonPathPredicate()
    }
}
