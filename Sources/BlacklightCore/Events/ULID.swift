import Foundation

/// ULIDs in Swift: 48 bits of milliseconds then 80 bits of entropy, Crockford base32, 26 characters.
/// Same alphabet and layout as `blacklight.ulid()` in SQL, so ids made here and there sort together.
/// Making them here is far cheaper than the plpgsql function per row on the ingest hot path.
public enum ULID {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new ULID for now with random entropy.
    public static func make(at date: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        let entropy = (0..<10).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return encode(millis: UInt64(max(0, date.timeIntervalSince1970 * 1000)), entropy: entropy)
    }

    /// The milliseconds since 1970 in a ULID's first 10 characters, or nil when `id` is not a ULID.
    public static func millis(of id: String) -> UInt64? {
        let chars = Array(id.utf8)
        guard chars.count == 26 else { return nil }
        var ms: UInt64 = 0
        for c in chars[0..<10] {
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            ms = (ms << 5) | UInt64(v)
        }
        return ms
    }

    /// Encodes `millis` (low 48 bits) and 10 bytes of entropy.
    public static func encode(millis: UInt64, entropy: [UInt8]) -> String {
        precondition(entropy.count == 10, "a ULID has 10 bytes of entropy")
        var out = [UInt8](repeating: 0, count: 26)
        for i in 0..<10 {
            out[9 - i] = alphabet[Int((millis >> (UInt64(i) * 5)) & 31)]
        }
        // Two 40-bit halves, as the SQL function does.
        for half in 0..<2 {
            var acc: UInt64 = 0
            for b in entropy[(half * 5)..<(half * 5 + 5)] { acc = (acc << 8) | UInt64(b) }
            for i in 0..<8 {
                out[10 + half * 8 + (7 - i)] = alphabet[Int((acc >> (UInt64(i) * 5)) & 31)]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Deterministic event ids from the `x-inngest-event-id-seed` header, so a client that retries a request
/// after a lost response gets the same ids back and creates nothing twice.
///
/// The Inngest SDKs send `"<unix millis>,<base64 of 10 random bytes>"`, the millis being the client's clock when it
/// first built the request (the Python SDK's `_seed()`); event `i` of the request gets the ULID with those millis
/// and the entropy plus `i` (80-bit big-endian addition), like Inngest's seeded ids.
///
/// The millis become the time part of the event ids, which order the event and run lists and decide which events
/// retention reaches first, so a seed is only taken when they are near now: at most `maxAge` old (a retry comes
/// within seconds; the dedup of client ids looks back 24 h) and at most `maxSkew` ahead (a client clock running
/// fast). Any other seed, of that shape or not, is ignored and the request gets fresh ids: refusing it would stop
/// an SDK with a wrong clock from sending at all, and taking it would let a header pin an event's time anywhere
/// in 48 bits of milliseconds (to the year 10889).
public struct EventIDSeed: Sendable, Equatable {
    public let millis: UInt64
    public let entropy: [UInt8]

    /// How far in the past a seed's time may be.
    public static let maxAge: Double = 24 * 3600
    /// How far in the future a seed's time may be.
    public static let maxSkew: Double = 3600

    /// The seed in `header`, or nil when it is not the SDKs' shape or its time is not near `now`.
    public init?(_ header: String, now: Date = Date()) {
        let parts = header.trimmingCharacters(in: .whitespaces).split(separator: ",", maxSplits: 1).map(String.init)
        guard parts.count == 2, let ms = UInt64(parts[0]), let bytes = Data(base64Encoded: parts[1]), bytes.count == 10
        else { return nil }
        let nowMillis = now.timeIntervalSince1970 * 1000
        guard Double(ms) >= nowMillis - Self.maxAge * 1000, Double(ms) <= nowMillis + Self.maxSkew * 1000 else { return nil }
        millis = ms
        entropy = Array(bytes)
    }

    /// A random seed for now: its ids are fresh and increase with the index (ordered like the batch).
    public static func random(at date: Date = Date()) -> EventIDSeed {
        var rng = SystemRandomNumberGenerator()
        var bytes = (0..<10).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[0] &= 0x7F  // leaves room to add indexes without wrapping
        return EventIDSeed(millis: UInt64(max(0, date.timeIntervalSince1970 * 1000)), entropy: bytes)
    }

    init(millis: UInt64, entropy: [UInt8]) {
        self.millis = millis
        self.entropy = entropy
    }

    /// The id of the event at `index` in the request.
    public func id(at index: Int) -> String {
        var e = entropy
        var carry = UInt64(index)
        var i = 9
        while carry > 0 && i >= 0 {
            let sum = UInt64(e[i]) + (carry & 0xFF)
            e[i] = UInt8(sum & 0xFF)
            carry = (carry >> 8) + (sum >> 8)
            i -= 1
        }
        return ULID.encode(millis: millis, entropy: e)
    }
}
