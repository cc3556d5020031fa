import BlacklightCore
import Foundation

/// Inngest's signing (the Python SDK's `net.py`): the executor signs each request to the app with
/// `X-Inngest-Signature: t=<unix seconds>&s=<hex HMAC-SHA256>`, keyed with the signing key minus its `signkey-…-`
/// prefix (as text), over the canonical JSON of the body followed by the timestamp; the app signs its answer the same
/// way over the bytes it sent. The SDK authenticates itself to the server with `Authorization: Bearer <hashed key>`.
public enum InngestSignature {
    /// `signkey-prod-abc…` → `abc…`.
    public static func withoutPrefix(_ key: String) -> String {
        guard key.hasPrefix("signkey-"), let dash = key.dropFirst(8).firstIndex(of: "-") else { return key }
        return String(key[key.index(after: dash)...])
    }

    /// What the SDK sends as its Bearer token (`transforms.hash_signing_key`): the hex SHA-256 of the key's bytes
    /// (the key minus its prefix is hex). Nil for a key that is not hex, which the SDK cannot use either.
    public static func hashedKey(_ key: String) -> String? {
        guard let bytes = Hex.decode(withoutPrefix(key)), !bytes.isEmpty else { return nil }
        return SHA256.hex(bytes)
    }

    /// The header value for `body` (already in the form the verifier hashes) at `time`.
    public static func sign(_ body: [UInt8], key: String, time: Int = Int(Date().timeIntervalSince1970)) -> String {
        let stamp = String(time)
        let mac = HMACSHA256.hex(key: Array(withoutPrefix(key).utf8), message: body + Array(stamp.utf8))
        return "t=\(stamp)&s=\(mac)"
    }

    /// Whether `header` signs `body` with `key` (any timestamp, as the SDK accepts).
    public static func verify(_ body: [UInt8], header: String?, key: String) -> Bool {
        guard let header else { return false }
        var stamp: String?
        var signature: String?
        for part in header.split(separator: "&") {
            if part.hasPrefix("t=") { stamp = String(part.dropFirst(2)) }
            if part.hasPrefix("s=") { signature = String(part.dropFirst(2)) }
        }
        guard let stamp, let time = Int(stamp), let signature else { return false }
        let expected = sign(body, key: key, time: time)
        return HMACSHA256.constantTimeEquals("t=\(stamp)&s=\(signature)", expected)
    }
}
