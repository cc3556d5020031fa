import BlacklightCore
import Foundation
import PGStore

/// The functions, their versions, the scripts that failed to load and the cron schedules, as the CLI lists them.
public enum FunctionCatalog {
    public struct Function: Sendable {
        public var id: String
        /// nil once the function is retired.
        public var activeVersion: String?
        public var definition: WorkflowDefinition?
        public var deployedAt: Date?
        public var file: String?
        public var paused: Bool
        /// The Inngest SDK app of an `http` function, with its last sync.
        public var app: String?
        public var syncedAt: Date?
    }

    public struct LoadError: Sendable {
        public var file: String
        public var line: Int?
        public var message: String
    }

    public struct Version: Sendable {
        public var hash: String
        public var file: String?
        public var createdAt: Date?
    }

    public struct Schedule: Sendable {
        public var id: String
        public var functionID: String?
        public var expression: String
        public var timezone: String?
        public var eventName: String?
        public var lastTick: Date?
        public var lastError: String?
        public var lastErrorAt: Date?

        /// The next tick after `date`, nil when the stored expression no longer parses.
        public func next(after date: Date) -> Date? {
            (try? CronExpression(expression, timeZone: timezone.flatMap(TimeZone.init(identifier:))))?.next(after: date)
        }
    }

    public static func functions(conn: PGConnection) throws -> [Function] {
        try conn.query("""
            SELECT f.id, f.active_version, f.config, f.deployed_at, f.file, f.paused_at IS NOT NULL AS paused,
                   a.id AS app, a.synced_at FROM blacklight.functions f LEFT JOIN blacklight.apps a ON a.id = f.config->>'app'
            ORDER BY f.id
            """).rows.map { row in
            let config = row["config"].jsonText.flatMap { try? JSONValue.parse($0) }
            return Function(id: row["id"].stringValue ?? "", activeVersion: row["active_version"].stringValue,
                            definition: config.flatMap(WorkflowDefinition.init(config:)), deployedAt: row["deployed_at"].dateValue,
                            file: row["file"].stringValue, paused: row["paused"].boolValue == true,
                            app: row["app"].stringValue, syncedAt: row["synced_at"].dateValue)
        }
    }

    public static func loadErrors(conn: PGConnection) throws -> [LoadError] {
        try conn.query("SELECT file, line, message FROM blacklight.load_errors ORDER BY file").rows.map {
            LoadError(file: $0["file"].stringValue ?? "", line: $0["line"].intValue.map { Int($0) }, message: $0["message"].stringValue ?? "")
        }
    }

    /// The function's stored versions, newest first, and its active one; nil when there is no such function.
    public static func versions(of functionID: String, conn: PGConnection) throws -> (active: String?, versions: [Version])? {
        guard let row = try conn.query("SELECT active_version FROM blacklight.functions WHERE id = $1", [.text(functionID)]).rows.first
        else { return nil }
        let versions = try conn.query("""
            SELECT hash, file, created_at FROM blacklight.function_versions WHERE function_id = $1 ORDER BY created_at DESC
            """, [.text(functionID)]).rows.map {
            Version(hash: $0["hash"].stringValue ?? "", file: $0["file"].stringValue, createdAt: $0["created_at"].dateValue)
        }
        return (row["active_version"].stringValue, versions)
    }

    public static func schedules(conn: PGConnection) throws -> [Schedule] {
        try conn.query("""
            SELECT id, function_id, expression, timezone, event_name, last_tick, last_error, last_error_at
            FROM blacklight.schedules ORDER BY id
            """).rows.map {
            Schedule(id: $0["id"].stringValue ?? "", functionID: $0["function_id"].stringValue,
                     expression: $0["expression"].stringValue ?? "", timezone: $0["timezone"].stringValue,
                     eventName: $0["event_name"].stringValue, lastTick: $0["last_tick"].dateValue,
                     lastError: $0["last_error"].stringValue, lastErrorAt: $0["last_error_at"].dateValue)
        }
    }
}
