import BlacklightCore
import Engine
import Foundation

/// The body of `POST /e/{key}`: one event object or an array of them, `{name, data, id?, ts?, v?}`.
/// Validation names the event's index and the field, and rejects the whole request on the first
/// problem, so nothing of a bad request is stored.
enum EventPayload {
    struct Invalid: Error, Equatable {
        let message: String
    }

    static func parse(_ body: JSONValue, limits: EventLimits) throws(Invalid) -> [EventStore.Event] {
        let items: [JSONValue]
        switch body {
        case .array(let a): items = a
        case .object: items = [body]
        default: throw Invalid(message: "the body must be an event object or an array of events")
        }
        if items.count > limits.maxEvents {
            throw Invalid(message: "\(items.count) events in one request: the limit is \(limits.maxEvents) per request")
        }
        var events: [EventStore.Event] = []
        events.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            events.append(try event(item, index: i, limits: limits))
        }
        return events
    }

    static func event(_ item: JSONValue, index i: Int, limits: EventLimits) throws(Invalid) -> EventStore.Event {
        guard case .object(let o) = item else { throw Invalid(message: "event \(i): must be a JSON object") }
        guard let nameValue = o["name"], !nameValue.isNull else { throw Invalid(message: "event \(i): 'name' is required") }
        guard let name = nameValue.stringValue else { throw Invalid(message: "event \(i): 'name' must be a string") }
        if name.trimmingCharacters(in: .whitespaces).isEmpty { throw Invalid(message: "event \(i): 'name' is required") }
        var data = JSONValue.object([:])
        if let d = o["data"], !d.isNull {
            guard case .object = d else { throw Invalid(message: "event \(i): 'data' must be a JSON object") }
            data = d
        }
        var id: String?
        if let v = o["id"], !v.isNull {
            guard let s = v.stringValue else { throw Invalid(message: "event \(i): 'id' must be a string") }
            id = s.isEmpty ? nil : s
        }
        var ts: Date?
        if let v = o["ts"], !v.isNull {
            guard let ms = v.doubleValue, ms >= 0 else {
                throw Invalid(message: "event \(i): 'ts' must be a number of milliseconds since 1970")
            }
            ts = ms == 0 ? nil : Date(timeIntervalSince1970: ms / 1000)
        }
        if let v = o["v"], !v.isNull, v.stringValue == nil {
            throw Invalid(message: "event \(i): 'v' must be a string")
        }
        let size = item.serialized().utf8.count
        if size > limits.maxEventBytes {
            throw Invalid(message: "event \(i): \(size) bytes is over the limit of \(limits.maxEventBytes / 1024) KB per event")
        }
        return EventStore.Event(name: name, data: data, id: id, ts: ts)
    }
}
