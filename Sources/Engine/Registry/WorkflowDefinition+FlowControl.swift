import BlacklightCore

extension WorkflowDefinition {
    /// `throttle`, `priority` and `singleton`: how runs are fed (issue 11). Decided in SQL at ingest
    /// (0006_flow_control.sql) from the config written here.
    public struct FlowControl: Sendable, Equatable {
        public var throttle: Throttle?
        public var priority: Priority?
        public var singleton: Singleton?

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

    static func flow(config: JSONValue) -> FlowControl {
        var flow = FlowControl()
        if let t = config["throttle"], let limit = t["limit"]?.intValue, let period = t["period"]?.doubleValue {
            flow.throttle = Throttle(limit: Int(limit), period: period, burst: Int(t["burst"]?.intValue ?? 0), key: t["key"]?.stringValue)
        }
        if let run = config["priority"]?["run"]?.stringValue { flow.priority = Priority(run: run) }
        if let s = config["singleton"], let mode = Singleton.Mode(rawValue: s["mode"]?.stringValue ?? "") {
            flow.singleton = Singleton(key: s["key"]?.stringValue, mode: mode)
        }
        return flow
    }

    /// The compiled SQL/JSON path of a trigger expression (validated, so it compiles).
    static func triggerPath(_ expression: String) -> String? {
        try? FlowExpression(parsing: expression).jsonPathPredicate()
    }
}
