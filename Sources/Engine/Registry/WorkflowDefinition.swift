import BlacklightCore
import Foundation

/// A validated `workflow { ... }` declaration: what the registry stores as a version's config and
/// what ingest and the scheduler read back from the database.
public struct WorkflowDefinition: Sendable, Equatable {
    public enum Trigger: Sendable, Equatable {
        /// `expression`: a flow expression the event must satisfy (FlowExpression), compiled to SQL/JSON path.
        case event(name: String, filter: JSONValue?, expression: String? = nil)
        case cron(expression: String, timezone: String?, jitter: Double)
    }

    public var id: String
    public var name: String
    public var triggers: [Trigger]
    public var retries: Int
    public var concurrencyLimit: Int?
    /// Path inside the event data whose value keys the concurrency limit.
    public var concurrencyKeyPath: [String]?
    /// Path inside the event data whose value deduplicates runs for 24 h.
    public var idempotencyPath: [String]?
    public var hasOnFailure: Bool
    /// `timeouts = { step = "5m", run = "1h", start = "10m" }`, in seconds.
    public var timeouts = Timeouts()
    /// `throttle`, `priority`, `singleton`.
    public var flow = FlowControl()
    /// The line of the `workflow {` call, for messages.
    public var line: Int

    /// The config stored with the version and read by SQL (`blacklight.enqueue_run`).
    public var config: JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "retries": .int(Int64(retries)),
            "on_failure": .bool(hasOnFailure), "line": .int(Int64(line)),
            "triggers": .array(triggers.map { trigger in
                switch trigger {
                case .event(let name, let filter, let expression):
                    var t: [String: JSONValue] = ["event": .string(name)]
                    if let filter { t["filter"] = filter }
                    if let expression, let path = Self.triggerPath(expression) {
                        t["expression"] = .string(expression)
                        t["expression_path"] = .string(path)
                    }
                    return .object(t)
                case .cron(let expression, let timezone, let jitter):
                    var t: [String: JSONValue] = ["cron": .string(expression)]
                    if let timezone { t["timezone"] = .string(timezone) }
                    if jitter > 0 { t["jitter"] = .double(jitter) }
                    return .object(t)
                }
            }),
        ]
        if let concurrencyLimit { o["concurrency_limit"] = .int(Int64(concurrencyLimit)) }
        if let concurrencyKeyPath { o["concurrency_key_path"] = .array(concurrencyKeyPath.map { .string($0) }) }
        if let idempotencyPath { o["idempotency_path"] = .array(idempotencyPath.map { .string($0) }) }
        if !timeouts.isEmpty { o["timeouts"] = timeouts.config }
        o.merge(flowConfig) { $1 }
        return .object(o)
    }

    public init(id: String, name: String, triggers: [Trigger], retries: Int, concurrencyLimit: Int? = nil,
                concurrencyKeyPath: [String]? = nil, idempotencyPath: [String]? = nil, hasOnFailure: Bool = false,
                line: Int = 0) {
        self.id = id
        self.name = name
        self.triggers = triggers
        self.retries = retries
        self.concurrencyLimit = concurrencyLimit
        self.concurrencyKeyPath = concurrencyKeyPath
        self.idempotencyPath = idempotencyPath
        self.hasOnFailure = hasOnFailure
        self.line = line
    }

    /// Reads a stored config back.
    public init?(config: JSONValue) {
        guard let id = config["id"]?.stringValue else { return nil }
        self.id = id
        self.name = config["name"]?.stringValue ?? id
        self.retries = Int(config["retries"]?.intValue ?? 3)
        self.hasOnFailure = config["on_failure"]?.boolValue ?? false
        self.line = Int(config["line"]?.intValue ?? 0)
        self.concurrencyLimit = config["concurrency_limit"]?.intValue.map { Int($0) }
        self.concurrencyKeyPath = config["concurrency_key_path"]?.arrayValue?.compactMap(\.stringValue)
        self.idempotencyPath = config["idempotency_path"]?.arrayValue?.compactMap(\.stringValue)
        self.timeouts = Timeouts(step: config["timeouts"]?["step"]?.doubleValue, run: config["timeouts"]?["run"]?.doubleValue,
                                 start: config["timeouts"]?["start"]?.doubleValue)
        self.flow = Self.flow(config: config)
        self.triggers = (config["triggers"]?.arrayValue ?? []).compactMap { t in
            if let name = t["event"]?.stringValue {
                return .event(name: name, filter: t["filter"], expression: t["expression"]?.stringValue)
            }
            if let cron = t["cron"]?.stringValue {
                return .cron(expression: cron, timezone: t["timezone"]?.stringValue, jitter: t["jitter"]?.doubleValue ?? 0)
            }
            return nil
        }
    }

    /// "event.data.candidate_id", "data.candidate_id" and "candidate_id" all name data.candidate_id.
    static func dataPath(_ text: String) -> [String] {
        var parts = text.split(separator: ".").map(String.init)
        if parts.first == "event" { parts.removeFirst() }
        if parts.first == "data" { parts.removeFirst() }
        return parts
    }
}

extension WorkflowDefinition {
    /// Time limits a workflow declares (like Inngest's start and finish timeouts, plus a per-step default).
    public struct Timeouts: Sendable, Equatable {
        /// Default limit of each step (and of the code between steps); `step.run(id, { timeout = ... })` overrides it.
        public var step: Double?
        /// Limit of the whole run from its first start, sleeps and waits included; past it the run fails.
        public var run: Double?
        /// Longest a run may wait in the queue before it first starts; past it the run is cancelled.
        public var start: Double?

        public init(step: Double? = nil, run: Double? = nil, start: Double? = nil) {
            self.step = step
            self.run = run
            self.start = start
        }

        var isEmpty: Bool { step == nil && run == nil && start == nil }

        var config: JSONValue {
            var o: [String: JSONValue] = [:]
            if let step { o["step"] = .double(step) }
            if let run { o["run"] = .double(run) }
            if let start { o["start"] = .double(start) }
            return .object(o)
        }
    }
}
