import BlacklightCore
import Foundation
import PGStore

/// Stores what an Inngest SDK app sends when it syncs (`POST /fn/register`, server_lib/registration.py
/// `SynchronizeRequest`): the app, and each function as a Blacklight function of kind `http`, activated the way
/// Registry activates a script (triggers and cron schedules rebuilt), all in one transaction. Functions the app no
/// longer sends are retired, as a deleted script is.
public struct AppSync {
    public init() {}

    public struct Result: Sendable, Equatable {
        public var app: String
        public var changes: [Registry.Change]
        /// Whether anything changed (Inngest answers `modified`).
        public var modified: Bool { changes.contains { $0.kind != .unchanged } }
    }

    /// Validates the whole request before writing anything: one bad function refuses the sync, and the app keeps its
    /// previous functions.
    public func sync(_ body: JSONValue, conn: PGConnection, now: Date = Date()) throws -> Result {
        guard case .object = body else { throw EngineError(.validation, "the sync request must be a JSON object") }
        guard let app = body["appname"]?.stringValue, !app.isEmpty else {
            throw EngineError(.validation, "the sync request has no 'appname' (the app id)")
        }
        guard let url = body["url"]?.stringValue, !url.isEmpty else {
            throw EngineError(.validation, "app '\(app)': the sync request has no 'url' (where the app is served)")
        }
        let configs = body["functions"]?.arrayValue ?? []
        var functions: [HTTPFunction] = []
        for fn in configs { functions.append(try HTTPFunction.from(sdkConfig: fn, app: app)) }
        var seen: Set<String> = []
        for fn in functions where !seen.insert(fn.definition.id).inserted {
            throw EngineError(.validation, "app '\(app)': function '\(fn.definition.id)' is sent twice")
        }
        let registry = Registry()
        var changes: [Registry.Change] = []
        try conn.transaction {
            // A Lua workflow keeps its id: an app cannot take it over (ids are `app-fn`, so this is a real clash).
            let taken = try conn.query("""
                SELECT id FROM blacklight.functions
                WHERE id = ANY($1::text[]) AND coalesce(config->>'kind', 'lua') <> 'http' AND active_version IS NOT NULL
                """, [.array(functions.map { .text($0.definition.id) })])
            if let clash = taken.rows.first?["id"].stringValue {
                throw EngineError(.validation, "app '\(app)': function '\(clash)' is already a Lua workflow; rename one of them")
            }
            let existing = try conn.query("""
                SELECT id, active_version FROM blacklight.functions WHERE config->>'kind' = 'http' AND config->>'app' = $1 FOR UPDATE
                """, [.text(app)])
            var active: [String: String?] = [:]
            for row in existing.rows { active[row["id"].stringValue ?? ""] = row["active_version"].stringValue }
            let file = "app:" + app
            for fn in functions {
                let id = fn.definition.id
                let version = fn.version
                try conn.exec("""
                    INSERT INTO blacklight.function_versions (function_id, hash, file, source, config)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (function_id, hash) DO NOTHING
                    """, [.text(id), .text(version), .text(file), .text(fn.source.serialized()), .json(fn.config.serialized())])
                let previous = active[id]
                if previous == .some(version) {
                    changes.append(.init(functionID: id, kind: .unchanged, version: version))
                    continue
                }
                try registry.makeActive(fn.definition, hash: version, file: file, conn: conn, now: now)
                // makeActive stores the definition's config; the kind, app and URL go with it.
                try conn.exec("UPDATE blacklight.functions SET config = $2 WHERE id = $1", [.text(id), .json(fn.config.serialized())])
                changes.append(.init(functionID: id, kind: previous == nil || previous == .some(nil) ? .added : .updated, version: version))
            }
            for (id, version) in active where version != nil && !seen.contains(id) {
                try registry.retire(id, conn: conn)
                changes.append(.init(functionID: id, kind: .retired, version: nil))
            }
            try conn.exec("""
                INSERT INTO blacklight.apps (id, url, sdk, framework, app_version, functions, synced_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, sdk = EXCLUDED.sdk, framework = EXCLUDED.framework,
                    app_version = EXCLUDED.app_version, functions = EXCLUDED.functions, synced_at = EXCLUDED.synced_at
                """, [.text(app), .text(url), body["sdk"]?.stringValue.map { .text($0) } ?? .null,
                      body["framework"]?.stringValue.map { .text($0) } ?? .null,
                      body["appVersion"]?.stringValue.map { .text($0) } ?? .null, .int(Int64(functions.count)), .timestamp(now)])
            try conn.exec("SELECT pg_notify('blacklight_functions', '')")
        }
        return Result(app: app, changes: changes)
    }
}
