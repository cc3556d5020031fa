import BlacklightCore
import Foundation
import PGStore

/// Sends events from Swift (CLI, HTTP): the same SQL function the app calls, so all paths agree.
public struct EventStore {
    public init() {}

    public struct Event: Sendable {
        public var name: String
        public var data: JSONValue
        public var id: String?
        public var ts: Date?
        public init(name: String, data: JSONValue = .object([:]), id: String? = nil, ts: Date? = nil) {
            self.name = name
            self.data = data
            self.id = id
            self.ts = ts
        }
    }

    /// Validates an event before it reaches the database, naming the field that is wrong.
    public static func validate(_ event: Event) throws(EngineError) {
        if event.name.trimmingCharacters(in: .whitespaces).isEmpty {
            throw EngineError(.badInput, "event 'name' is required and must be a non-empty string", context: "field name")
        }
        guard case .object = event.data else {
            throw EngineError(.badInput, "event 'data' must be a JSON object", context: "field data")
        }
    }

    /// Stores the events in one transaction and returns their ids (the original id for a duplicate).
    public func send(_ events: [Event], conn: PGConnection) throws -> [String] {
        for event in events { try Self.validate(event) }
        return try conn.transaction {
            var ids: [String] = []
            for event in events {
                let r = try conn.query("SELECT blacklight.ingest_event($1, $2::jsonb, $3, $4) AS id", [
                    .text(event.name), .json(event.data.serialized()), event.id.map { .text($0) } ?? .null,
                    event.ts.map { .timestamp($0) } ?? .null,
                ])
                ids.append(r.rows.first?["id"].stringValue ?? "")
            }
            return ids
        }
    }
}
