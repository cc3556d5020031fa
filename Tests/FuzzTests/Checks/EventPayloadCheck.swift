import BlacklightCore
import Engine
import Foundation
@testable import PGStore

/// An event body as `POST /e/{key}` receives it: parse, validate, and encode the accepted events as
/// the SQL parameters of `blacklight.ingest_events`, everything the server does before the database.
enum EventPayloadCheck {
    /// The event validation under test: `EventStore.events(json:limits:)` (each item through
    /// `EventStore.Event(json:index:limits:)`), as the HTTP API and every other path use it.
    static func validate(_ body: JSONValue) throws -> [EventStore.Event] {
        try EventStore.events(json: body, limits: EventLimits())
    }

    /// An accepted event must also be storable as is (no NUL, a time PostgreSQL holds): validation refuses
    /// the rest with a 400 (issue 10 defect 2) instead of the database refusing a merged batch.
    static let acceptedMeansStorable = true

    static func check(_ input: UnsafeBufferPointer<UInt8>) throws(FuzzFailure) {
        guard let body = try? JSONValue.parse(bytes: input, exactNumbers: true) else { return }  // as EventRoutes reads it
        let events: [EventStore.Event]
        do {
            events = try validate(body)
        } catch {
            // A refusal names the event: "event 3: 'ts' must be …" or the whole body's problem.
            guard !"\(error)".isEmpty else { throw FuzzFailure("a refusal without a message") }
            return
        }
        for (index, event) in events.enumerated() {
            guard !event.name.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw FuzzFailure("event \(index) accepted with an empty name")
            }
            guard case .object = event.data else { throw FuzzFailure("event \(index) accepted with non-object data") }
            try JSONCheck.checkRoundTrip(event.data)
            if acceptedMeansStorable {
                let single: [PGValue] = [
                    .text(event.name), .json(event.data.serialized()), event.id.map { .text($0) } ?? .null,
                    event.ts.map { .timestamp($0) } ?? .null,
                ]
                do {
                    _ = try ParameterEncoder(single)
                } catch {
                    throw FuzzFailure("event \(index) accepted but not storable: \(error)")
                }
            }
        }
        // The batch form the API sends (EventStore.ingest): arrays, where a bad time is written as a
        // literal the server refuses. Encoding must not trap whatever the values.
        let batch: [PGValue] = [
            .array(events.map { .text($0.name) }),
            .array(events.map { .text($0.data.serialized()) }),
            .array(events.map { $0.id.map { .text($0) } ?? .null }),
            .array(events.map { $0.ts.map { .timestamp($0) } ?? .null }),
        ]
        _ = try? ParameterEncoder(batch)
    }
}
