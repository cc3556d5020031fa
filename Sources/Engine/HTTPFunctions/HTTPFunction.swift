import BlacklightCore
import Foundation
import LuaHost

/// A function of an Inngest SDK app (kind `http`): its code runs in the app, which Blacklight calls at `url` the way
/// Inngest's executor does. Stored like a Lua workflow (functions, function_versions, triggers, schedules) so ingest,
/// flow control, cron, the dashboard and the REPL treat both kinds alike; only the worker tells them apart, by the
/// version's prefix (`http-`), without a query.
public struct HTTPFunction: Sendable, Equatable {
    /// Versions of http functions start with this, so a worker knows a run's kind from the claim alone.
    public static let versionPrefix = "http-"

    public var definition: WorkflowDefinition
    /// The app's id (the SDK's `app_id`, sent as `appname`).
    public var app: String
    /// Where the executor calls the function: the app's serve URL with `fnId` and `stepId` in the query.
    public var url: String
    /// The function config exactly as the SDK sent it, kept as the version's source for people to read.
    public var source: JSONValue

    /// The config stored in functions.config: the definition's (the flow-control keys SQL reads) plus the kind,
    /// the app and the URL.
    public var config: JSONValue {
        var o = definition.config.objectValue ?? [:]
        o["kind"] = .string("http")
        o["app"] = .string(app)
        o["url"] = .string(url)
        return .object(o)
    }

    /// A content hash of what the executor depends on: a new URL or config makes a new version; a re-sync of the
    /// same app changes nothing.
    public var version: String {
        Self.versionPrefix + SHA256.hex(config.serialized()).prefix(40)
    }

    /// Reads a stored config (functions.config or function_versions.config) back; nil unless its kind is `http`.
    public init?(config: JSONValue) {
        guard config["kind"]?.stringValue == "http", let url = config["url"]?.stringValue,
              let definition = WorkflowDefinition(config: config) else { return nil }
        self.definition = definition
        self.app = config["app"]?.stringValue ?? ""
        self.url = url
        self.source = .null
    }

    init(definition: WorkflowDefinition, app: String, url: String, source: JSONValue) {
        self.definition = definition
        self.app = app
        self.url = url
        self.source = source
    }
}

extension HTTPFunction {
    /// Validates one entry of the SDK's `functions` list (server_lib/registration.py `FunctionConfig`) and maps its
    /// options onto the keys Lua workflows use, through the same validator, so an option means the same in both.
    /// Inngest names that have no Blacklight counterpart are refused rather than ignored.
    static func from(sdkConfig fn: JSONValue, app: String) throws(EngineError) -> HTTPFunction {
        guard case .object(let o) = fn, let id = o["id"]?.stringValue, !id.isEmpty else {
            throw EngineError(.validation, "app '\(app)': a function config has no 'id'")
        }
        func fail(_ message: String) -> EngineError { EngineError(.validation, "app '\(app)', function '\(id)': \(message)") }
        guard let step = o["steps"]?["step"], let url = step["runtime"]?["url"]?.stringValue, !url.isEmpty else {
            throw fail("steps.step.runtime.url (where to call the function) is missing")
        }
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw fail("steps.step.runtime.url '\(url)' is not an http(s) URL")
        }
        var hash: [(key: LuaValue, value: LuaValue)] = [(.string("id"), .string(id))]
        func put(_ key: String, _ value: LuaValue) { hash.append((.string(key), value)) }
        if let name = o["name"]?.stringValue { put("name", .string(name)) }
        var triggers: [LuaValue] = []
        for t in o["triggers"]?.arrayValue ?? [] {
            var item: [(key: LuaValue, value: LuaValue)] = []
            if let event = t["event"]?.stringValue {
                item.append((.string("event"), .string(event)))
                if let e = t["expression"]?.stringValue, !e.isEmpty { item.append((.string("expression"), .string(e))) }
            } else if let cron = t["cron"]?.stringValue {
                item.append((.string("cron"), .string(cron)))
                if let j = t["jitter"]?.stringValue { item.append((.string("jitter"), .string(j))) }
            } else {
                throw fail("a trigger needs 'event' or 'cron', got \(t.serialized())")
            }
            triggers.append(.table(LuaTable(hash: item)))
        }
        put("triggers", .table(LuaTable(array: triggers)))
        if let attempts = step["retries"]?["attempts"]?.intValue { put("retries", .int(attempts)) }
        if let list = o["concurrency"]?.arrayValue, let first = list.first {
            if list.count > 1 { throw fail("only one concurrency limit per function is supported (got \(list.count))") }
            if let scope = first["scope"]?.stringValue, scope != "fn" {
                throw fail("concurrency scope '\(scope)' is not supported (only per function)")
            }
            put("concurrency", lua(first, keep: ["limit", "key"]))
        }
        if let i = o["idempotency"]?.stringValue { put("idempotency", .string(i)) }
        if let t = o["timeouts"] {
            var item: [(key: LuaValue, value: LuaValue)] = []
            if let s = t["start"]?.stringValue { item.append((.string("start"), .string(s))) }
            // Inngest's `finish` bounds a run from its start, as Blacklight's `run` does.
            if let f = t["finish"]?.stringValue { item.append((.string("run"), .string(f))) }
            if !item.isEmpty { put("timeouts", .table(LuaTable(hash: item))) }
        }
        if let t = o["throttle"] { put("throttle", lua(t, keep: ["limit", "period", "key", "burst"])) }
        if let r = o["rateLimit"] { put("rate_limit", lua(r, keep: ["limit", "period", "key"])) }
        if let d = o["debounce"] { put("debounce", lua(d, keep: ["period", "key", "timeout"])) }
        if let b = o["batchEvents"] {
            if b["if"] != nil { throw fail("batchEvents.if is not supported") }
            var item: [(key: LuaValue, value: LuaValue)] = []
            if let size = b["maxSize"] { item.append((.string("max_size"), lua(size))) }
            if let timeout = b["timeout"] { item.append((.string("timeout"), lua(timeout))) }
            if let key = b["key"] { item.append((.string("key"), lua(key))) }
            put("batch_events", .table(LuaTable(hash: item)))
        }
        if let p = o["priority"] { put("priority", lua(p, keep: ["run"])) }
        if let s = o["singleton"] { put("singleton", lua(s, keep: ["key", "mode"])) }
        if let c = o["cancel"]?.arrayValue, !c.isEmpty {
            put("cancel_on", .table(LuaTable(array: c.map { lua($0, keep: ["event", "if", "timeout"]) })))
        }
        let definition: WorkflowDefinition
        do {
            definition = try WorkflowValidator.validate(LuaTable(hash: hash), line: 0, times: nil, requireRun: false)
        } catch {
            throw EngineError(.validation, "app '\(app)': \(error.message)")
        }
        return HTTPFunction(definition: definition, app: app, url: url, source: fn)
    }

    private static func lua(_ value: JSONValue, keep: Set<String>? = nil) -> LuaValue {
        switch value {
        case .null: return .nil
        case .bool(let b): return .bool(b)
        case .int(let n): return .int(n)
        case .double(let d): return .number(d)
        case .string(let s): return .string(s)
        case .array(let items): return .table(LuaTable(array: items.map { lua($0) }))
        case .object(let members):
            let kept = members.filter { $0.value != .null && (keep?.contains($0.key) ?? true) }.sorted { $0.key < $1.key }
            return .table(LuaTable(hash: kept.map { (key: LuaValue.string($0.key), value: lua($0.value)) }))
        }
    }
}
