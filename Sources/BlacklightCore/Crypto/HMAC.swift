/// HMAC-SHA256 (RFC 2104), for the Inngest request and response signatures (`X-Inngest-Signature`).
public enum HMACSHA256 {
    public static func hex(key: [UInt8], message: [UInt8]) -> String {
        Hex.encode(mac(key: key, message: message))
    }

    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? SHA256.bytes(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = SHA256.bytes(k.map { $0 ^ 0x36 } + message)
        return SHA256.bytes(k.map { $0 ^ 0x5c } + inner)
    }

    /// Equal length and bytes, in time that does not depend on where they first differ.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

extension SHA256 {
    /// The 32-byte digest.
    public static func bytes(_ input: [UInt8]) -> [UInt8] {
        digest(input).flatMap { word in (0..<4).map { UInt8((word >> UInt32(24 - $0 * 8)) & 0xff) } }
    }
}
