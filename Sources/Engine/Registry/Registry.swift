import BlacklightCore
import Foundation
import PGStore

/// Stores workflow versions and makes them active, in one transaction, so ingest, the scheduler and
/// every worker see one consistent set.
public struct Registry {
    public init() {}

    public struct Change: Sendable, Equatable {
        public enum Kind: String, Sendable { case added, updated, unchanged, retired }
        public var functionID: String
        public var kind: Kind
        public var version: String?
    }

    /// Activates `workflows`; records `errors` (their files keep their last good version); when
    /// `retireMissing`, functions whose script file is gone are retired.
    @discardableResult
    public func activate(_ workflows: [LoadedWorkflow], errors: [ScriptLoadError], retireMissing: Bool,
                         conn: PGConnection, now: Date = Date()) throws -> [Change] {
        var changes: [Change] = []
        try conn.transaction {
            // Functions of Inngest SDK apps (kind http) come and go with their app's sync (AppSync), never with scripts.
            let existing = try conn.query("""
                SELECT id, file, active_version FROM blacklight.functions WHERE coalesce(config->>'kind', 'lua') <> 'http' FOR UPDATE
                """)
            var active: [String: (file: String, version: String?)] = [:]
            for row in existing.rows {
                active[row["id"].stringValue ?? ""] = (row["file"].stringValue ?? "", row["active_version"].stringValue)
            }
            for workflow in workflows {
                let def = workflow.definition
                let hash = workflow.bundle.hash
                var plugins: [String: JSONValue] = [:]
                for (k, v) in workflow.bundle.plugins { plugins[k] = .string(v) }
                try conn.exec("""
                    INSERT INTO blacklight.function_versions (function_id, hash, file, source, plugins, config)
                    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (function_id, hash) DO NOTHING
                    """, [.text(def.id), .text(hash), .text(workflow.bundle.file), .text(workflow.bundle.source),
                          .json(JSONValue.object(plugins).serialized()), .json(def.config.serialized())])
                let previous = active[def.id]
                if previous?.version == hash {
                    changes.append(Change(functionID: def.id, kind: .unchanged, version: hash))
                    continue
                }
                try makeActive(def, hash: hash, file: workflow.bundle.file, conn: conn, now: now)
                changes.append(Change(functionID: def.id, kind: previous == nil ? .added : .updated, version: hash))
            }
            let loadedIDs = Set(workflows.map(\.definition.id))
            let keptFiles = Set(errors.map(\.file))
            if retireMissing {
                for (id, info) in active where !loadedIDs.contains(id) && info.version != nil && !keptFiles.contains(info.file) {
                    try retire(id, conn: conn)
                    changes.append(Change(functionID: id, kind: .retired, version: nil))
                }
            }
            try conn.exec("DELETE FROM blacklight.load_errors")
            for error in errors {
                try conn.exec("INSERT INTO blacklight.load_errors (file, message, line) VALUES ($1, $2, $3)",
                              [.text(error.file), .text(error.message), error.line.map { .int(Int64($0)) } ?? .null])
            }
            try conn.exec("SELECT pg_notify('blacklight_functions', '')")
        }
        return changes
    }

    /// Points a function at a stored version and rebuilds its triggers and schedules from it.
    func makeActive(_ def: WorkflowDefinition, hash: String, file: String, conn: PGConnection, now: Date) throws {
        try conn.exec("""
            INSERT INTO blacklight.functions (id, name, file, active_version, config, deployed_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, file = EXCLUDED.file,
                active_version = EXCLUDED.active_version, config = EXCLUDED.config, deployed_at = EXCLUDED.deployed_at
            """, [.text(def.id), .text(def.name), .text(file), .text(hash), .json(def.config.serialized()), .timestamp(now)])
        try conn.exec("DELETE FROM blacklight.triggers WHERE function_id = $1", [.text(def.id)])
        for trigger in def.triggers {
            if case .event(let name, let filter, let expression) = trigger {
                let path = expression.flatMap(WorkflowDefinition.triggerPath)
                try conn.exec("INSERT INTO blacklight.triggers (function_id, event_name, filter, expression) VALUES ($1, $2, $3, $4::jsonpath)",
                              [.text(def.id), .text(name), filter.map { .json($0.serialized()) } ?? .null, path.map { .text($0) } ?? .null])
            }
        }
        try syncSchedules(def, conn: conn, now: now)
    }

    /// Reactivates a stored version (`blacklight rollback`): the given one, or the newest version older
    /// than the active one. Returns the version now active.
    @discardableResult
    public func rollback(_ functionID: String, to version: String? = nil, conn: PGConnection, now: Date = Date()) throws -> String {
        try conn.transaction {
            let current = try conn.query("SELECT active_version FROM blacklight.functions WHERE id = $1 FOR UPDATE",
                                         [.text(functionID)]).rows.first
            guard let current else { throw EngineError(.notFound, "no function with id '\(functionID)'") }
            let target: PGRow?
            if let version {
                target = try conn.query("""
                    SELECT hash, file, config FROM blacklight.function_versions WHERE function_id = $1 AND hash LIKE $2 || '%'
                    ORDER BY created_at DESC LIMIT 1
                    """, [.text(functionID), .text(version)]).rows.first
                guard target != nil else { throw EngineError(.notFound, "function '\(functionID)' has no version '\(version)'") }
            } else {
                target = try conn.query("""
                    SELECT v.hash, v.file, v.config FROM blacklight.function_versions v
                    WHERE v.function_id = $1 AND v.hash IS DISTINCT FROM $2
                      AND v.created_at <= coalesce((SELECT created_at FROM blacklight.function_versions
                                                    WHERE function_id = $1 AND hash = $2), now())
                    ORDER BY v.created_at DESC LIMIT 1
                    """, [.text(functionID), current["active_version"]]).rows.first
                guard target != nil else { throw EngineError(.notFound, "function '\(functionID)' has no earlier version to roll back to") }
            }
            guard let target, let hash = target["hash"].stringValue, let raw = target["config"].jsonText,
                  let def = WorkflowDefinition(config: try JSONValue.parse(raw)) else {
                throw EngineError(.notFound, "the stored version of '\(functionID)' cannot be read")
            }
            try makeActive(def, hash: hash, file: target["file"].stringValue ?? "", conn: conn, now: now)
            try conn.exec("SELECT pg_notify('blacklight_functions', $1)", [.text(functionID)])
            return hash
        }
    }

    func retire(_ id: String, conn: PGConnection) throws {
        try conn.exec("UPDATE blacklight.functions SET active_version = NULL, deployed_at = now() WHERE id = $1", [.text(id)])
        try conn.exec("DELETE FROM blacklight.triggers WHERE function_id = $1", [.text(id)])
        try conn.exec("DELETE FROM blacklight.schedules WHERE function_id = $1", [.text(id)])
    }

    /// One schedule row per cron trigger. An unchanged expression keeps its last tick; a new or changed
    /// one starts from the latest tick before now, so it fires at its next tick, not at once.
    func syncSchedules(_ def: WorkflowDefinition, conn: PGConnection, now: Date) throws {
        var keep: [String] = []
        for (i, trigger) in def.triggers.enumerated() {
            guard case .cron(let expression, let timezone, let jitter) = trigger else { continue }
            let id = "fn:\(def.id):\(i)"
            keep.append(id)
            let zone = timezone.flatMap(TimeZone.init(identifier:))
            let cron = try CronExpression(expression, timeZone: zone)
            let start = cron.previous(atOrBefore: now) ?? now
            try conn.exec("""
                INSERT INTO blacklight.schedules (id, function_id, expression, timezone, jitter, last_tick)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (id) DO UPDATE SET
                    last_tick = CASE WHEN blacklight.schedules.expression = EXCLUDED.expression
                                      AND blacklight.schedules.timezone IS NOT DISTINCT FROM EXCLUDED.timezone
                                     THEN blacklight.schedules.last_tick ELSE EXCLUDED.last_tick END,
                    expression = EXCLUDED.expression, timezone = EXCLUDED.timezone, jitter = EXCLUDED.jitter
                """, [.text(id), .text(def.id), .text(expression), timezone.map { .text($0) } ?? .null, .double(jitter), .timestamp(start)])
        }
        try conn.exec("DELETE FROM blacklight.schedules WHERE function_id = $1 AND NOT (id = ANY($2::text[]))",
                      [.text(def.id), .array(keep.map { .text($0) })])
    }
}
