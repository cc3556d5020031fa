import BlacklightCore
import Foundation
import PGStore

/// Read models of runs for the CLI (and later the REST API).
public struct RunQueries {
    public init() {}

    public struct RunSummary: Sendable {
        public var id: String
        public var functionID: String
        public var status: String
        public var attempt: Int
        public var maxAttempts: Int
        public var version: String
        public var eventName: String?
        public var createdAt: Date?
        public var endedAt: Date?
        public var json: JSONValue
    }

    public struct StepDetail: Sendable {
        public var key: String
        public var kind: String
        public var status: String
        public var attempts: Int
        public var output: JSONValue?
        public var error: JSONValue?
        public var startedAt: Date?
        public var endedAt: Date?
        public var wakeAt: Date?
        public var json: JSONValue
    }

    public func list(function: String? = nil, status: String? = nil, limit: Int = 50, conn: PGConnection) throws -> [RunSummary] {
        let r = try conn.query("""
            SELECT r.id, r.function_id, r.status, r.attempt, r.max_attempts, r.version, r.created_at, r.ended_at,
                   r.kind, e.name AS event_name
            FROM blacklight.runs r LEFT JOIN blacklight.events e ON e.id = r.event_id
            WHERE ($1::text IS NULL OR r.function_id = $1) AND ($2::text IS NULL OR r.status = $2)
            ORDER BY r.id DESC LIMIT $3
            """, [function.map { .text($0) } ?? .null, status.map { .text($0) } ?? .null, .int(Int64(limit))])
        return r.rows.map(summary)
    }

    public func show(_ id: String, conn: PGConnection) throws -> (RunSummary, [StepDetail], output: JSONValue?, error: JSONValue?)? {
        let r = try conn.query("""
            SELECT r.id, r.function_id, r.status, r.attempt, r.max_attempts, r.version, r.created_at, r.ended_at,
                   r.kind, r.output, r.error, e.name AS event_name, r.event_id
            FROM blacklight.runs r LEFT JOIN blacklight.events e ON e.id = r.event_id WHERE r.id = $1
            """, [.text(id)])
        guard let row = r.rows.first else { return nil }
        let steps = try conn.query("""
            SELECT key, kind, status, attempts, output, error, started_at, ended_at, wake_at
            FROM blacklight.steps WHERE run_id = $1 ORDER BY seq, started_at NULLS LAST, key
            """, [.text(id)])
        let details = steps.rows.map { s -> StepDetail in
            let output = s["output"].jsonText.flatMap { try? JSONValue.parse($0) }
            let error = s["error"].jsonText.flatMap { try? JSONValue.parse($0) }
            var j: [String: JSONValue] = [
                "id": .string(s["key"].stringValue ?? ""), "kind": .string(s["kind"].stringValue ?? ""),
                "status": .string(s["status"].stringValue ?? ""), "attempts": .int(s["attempts"].intValue ?? 0),
            ]
            if let output { j["output"] = output }
            if let error { j["error"] = error }
            let start = s["started_at"].dateValue, end = s["ended_at"].dateValue
            if let start { j["started_at"] = .string(TimeValue.iso(start.timeIntervalSince1970)) }
            if let end { j["ended_at"] = .string(TimeValue.iso(end.timeIntervalSince1970)) }
            if let start, let end { j["duration_ms"] = .double((end.timeIntervalSince(start) * 1000 * 1000).rounded() / 1000) }
            if let wake = s["wake_at"].dateValue { j["wake_at"] = .string(TimeValue.iso(wake.timeIntervalSince1970)) }
            return StepDetail(key: s["key"].stringValue ?? "", kind: s["kind"].stringValue ?? "", status: s["status"].stringValue ?? "",
                              attempts: Int(s["attempts"].intValue ?? 0), output: output, error: error,
                              startedAt: start, endedAt: end, wakeAt: s["wake_at"].dateValue, json: .object(j))
        }
        var run = summary(row)
        let output = row["output"].jsonText.flatMap { try? JSONValue.parse($0) }
        let error = row["error"].jsonText.flatMap { try? JSONValue.parse($0) }
        if case .object(var o) = run.json {
            o["output"] = output ?? .null
            o["error"] = error ?? .null
            o["event_id"] = row["event_id"].stringValue.map { .string($0) } ?? .null
            o["steps"] = .array(details.map(\.json))
            run.json = .object(o)
        }
        return (run, details, output, error)
    }

    private func summary(_ row: PGRow) -> RunSummary {
        let created = row["created_at"].dateValue, ended = row["ended_at"].dateValue
        var j: [String: JSONValue] = [
            "id": .string(row["id"].stringValue ?? ""), "function_id": .string(row["function_id"].stringValue ?? ""),
            "status": .string(row["status"].stringValue ?? ""), "attempt": .int(row["attempt"].intValue ?? 0),
            "max_attempts": .int(row["max_attempts"].intValue ?? 0), "version": .string(row["version"].stringValue ?? ""),
            "kind": .string(row["kind"].stringValue ?? "run"),
            "event": row["event_name"].stringValue.map { .string($0) } ?? .null,
        ]
        if let created { j["created_at"] = .string(TimeValue.iso(created.timeIntervalSince1970)) }
        if let ended { j["ended_at"] = .string(TimeValue.iso(ended.timeIntervalSince1970)) }
        return RunSummary(id: row["id"].stringValue ?? "", functionID: row["function_id"].stringValue ?? "",
                          status: row["status"].stringValue ?? "", attempt: Int(row["attempt"].intValue ?? 0),
                          maxAttempts: Int(row["max_attempts"].intValue ?? 0), version: row["version"].stringValue ?? "",
                          eventName: row["event_name"].stringValue, createdAt: created, endedAt: ended, json: .object(j))
    }
}
