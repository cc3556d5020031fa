import BlacklightCore
import Foundation
import PGStore

/// Reads of synced Inngest SDK apps, for the REST API, the CLI and the dashboard.
public enum AppQueries {
    /// `{"apps": [{id, url, sdk, framework, functions, synced_at}]}`.
    public static func list(conn: PGConnection) throws -> JSONValue {
        let rows = try conn.query("""
            SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'url', url, 'sdk', sdk, 'framework', framework,
                       'app_version', app_version, 'functions', functions, 'synced_at', synced_at) ORDER BY id), '[]') AS apps
            FROM blacklight.apps
            """).rows
        let apps = rows.first?["apps"].jsonText.flatMap { try? JSONValue.parse($0) } ?? .array([])
        return .object(["apps": apps])
    }
}
