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
/// The Inngest SDKs send `"<unix millis>,<base64 of 10 random bytes>"`; event `i` of the request gets
/// the ULID with those millis and the entropy plus `i` (80-bit big-endian addition), like Inngest's
/// seeded ids. A seed of another shape still gives deterministic ids: millis and entropy then come
/// from the SHA-256 of the seed text.
public struct EventIDSeed: Sendable, Equatable {
    public let millis: UInt64
    public let entropy: [UInt8]

    public init?(_ header: String) {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { return nil }
        let parts = text.split(separator: ",", maxSplits: 1).map(String.init)
        if parts.count == 2, let ms = UInt64(parts[0]), ms < (1 << 48),
           let bytes = Data(base64Encoded: parts[1]), bytes.count == 10 {
            millis = ms
            entropy = Array(bytes)
            return
        }
        let digest = SHA256.digest(Array(text.utf8)).flatMap { w in (0..<4).map { UInt8((w >> UInt32(24 - $0 * 8)) & 0xff) } }
        var ms: UInt64 = 0
        for b in digest[0..<6] { ms = (ms << 8) | UInt64(b) }
        millis = ms
        entropy = Array(digest[6..<16])
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
