import BlacklightCore
import Foundation

extension EventStore {
    /// One event as the engine stores it: `name`, `data` (a JSON object), the client's `id` for
    /// deduplication, and `ts` (nil: when it is stored).
    ///
    /// This is the one place an event is validated. `init(json:index:limits:)` reads the Inngest shape that
    /// the HTTP API, `import` and Lua hand over; `validate(index:limits:)` checks an event built in Swift
    /// (`EventStore.send` calls it). Both refuse with an `EngineError(.badInput)` whose message names the
    /// event's index and the field, e.g. `event 2: field 'id': 3000 bytes is over the limit of 256`.
    public struct Event: Sendable {
        public var name: String
        public var data: JSONValue
        public var id: String?
        public var ts: Date?

        /// An event built in Swift; `EventStore.send` validates it.
        public init(name: String, data: JSONValue = .object([:]), id: String? = nil, ts: Date? = nil) {
            self.name = name
            self.data = data
            self.id = id
            self.ts = ts
        }

        /// Reads and validates `{name, data?, id?, ts?, v?}` as the Inngest SDKs send it: `ts` in milliseconds
        /// since 1970 (0 or absent: now), an empty `id` as none. `index` is the event's place in its request,
        /// named in every refusal.
        public init(json item: JSONValue, index: Int, limits: EventLimits) throws(EngineError) {
            func refuse(_ field: String, _ problem: String) -> EngineError { Self.refusal(index, field, problem) }
            guard case .object(let o) = item else { throw Self.refusal(index, nil, "must be a JSON object") }
            guard let nameValue = o["name"], !nameValue.isNull else { throw refuse("name", "required") }
            guard let name = nameValue.stringValue else { throw refuse("name", "must be a string") }
            var data = JSONValue.object([:])
            if let d = o["data"], !d.isNull { data = d }
            var id: String?
            if let v = o["id"], !v.isNull {
                guard let s = v.stringValue else { throw refuse("id", "must be a string") }
                id = s.isEmpty ? nil : s
            }
            var ts: Date?
            if let v = o["ts"], !v.isNull {
                guard let ms = v.doubleValue else { throw refuse("ts", "must be a number of milliseconds since 1970") }
                do {
                    ts = ms == 0 ? nil : try TimeBounds.date(millis: ms)
                } catch {
                    throw refuse("ts", error.message)
                }
            }
            if let v = o["v"], !v.isNull, v.stringValue == nil { throw refuse("v", "must be a string") }
            self.init(name: name, data: data, id: id, ts: ts)
            try validate(index: index, limits: limits)
        }

        /// Checks name (present, length, no control characters), id (length, no NUL), ts (years 1 to 9999) and
        /// data (an object; size, depth, strings without NUL, finite numbers). PostgreSQL would refuse most of
        /// these only after a batch was merged (a 500 for every request in it), or store a changed value.
        /// `index`: the event's place in its request or list, nil for an event that stands alone (a schedule's).
        public func validate(index: Int?, limits: EventLimits) throws(EngineError) {
            func refuse(_ field: String, _ problem: String) -> EngineError { Self.refusal(index, field, problem) }
            if name.unicodeScalars.allSatisfy(\.properties.isWhitespace) { throw refuse("name", "required") }
            if name.utf8.count > limits.maxNameBytes {
                throw refuse("name", "\(name.utf8.count) bytes is over the limit of \(limits.maxNameBytes)")
            }
            if let bad = name.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
                throw refuse("name", "contains the control character \(Self.scalarName(bad))")
            }
            if let id {
                if id.utf8.count > limits.maxIDBytes {
                    throw refuse("id", "\(id.utf8.count) bytes is over the limit of \(limits.maxIDBytes)")
                }
                if id.utf8.contains(0) { throw refuse("id", "contains the character U+0000, which cannot be stored") }
            }
            if let ts, !TimeBounds.contains(seconds: ts.timeIntervalSince1970) {
                do {
                    _ = try TimeBounds.date(millis: ts.timeIntervalSince1970 * 1000)  // in ms, the unit clients send
                } catch {
                    throw refuse("ts", error.message)
                }
            }
            guard case .object = data else { throw refuse("data", "must be a JSON object") }
            if let (path, problem) = data.unstorablePart(maxDepth: limits.maxDataDepth) { throw refuse("data" + path, problem) }
            let size = data.serialized().utf8.count + name.utf8.count + (id?.utf8.count ?? 0)
            if size > limits.maxEventBytes {
                let limit = limits.maxEventBytes % 1024 == 0 ? "\(limits.maxEventBytes / 1024) KB" : "\(limits.maxEventBytes) bytes"
                throw refuse("data", "the event is \(size) bytes, over the limit of \(limit) per event")
            }
        }

        static func refusal(_ index: Int?, _ field: String?, _ problem: String) -> EngineError {
            let event = index.map { "event \($0)" } ?? "event"
            return EngineError(.badInput, field.map { "\(event): field '\($0)': \(problem)" } ?? "\(event): \(problem)")
        }

        static func scalarName(_ s: Unicode.Scalar) -> String {
            let hex = String(s.value, radix: 16, uppercase: true)
            return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
    }

    /// Reads a request body (one event object or an array of them) into validated events, refusing the whole
    /// request at its first bad event so nothing of it is stored.
    public static func events(json body: JSONValue, limits: EventLimits) throws(EngineError) -> [Event] {
        let items: [JSONValue]
        switch body {
        case .array(let a): items = a
        case .object: items = [body]
        default: throw EngineError(.badInput, "the body must be an event object or an array of events")
        }
        if items.count > limits.maxEvents {
            throw EngineError(.badInput, "\(items.count) events in one request: the limit is \(limits.maxEvents) per request")
        }
        var events: [Event] = []
        events.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            events.append(try Event(json: item, index: i, limits: limits))
        }
        return events
    }
}
