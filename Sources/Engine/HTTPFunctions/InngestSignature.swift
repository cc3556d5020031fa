import BlacklightCore
import Crypto
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
        return Hex.encode(Array(Crypto.SHA256.hash(data: bytes)))
    }

    /// The id the SDK gives a step (`step_lib`): the hex SHA-1 of its id, or of `id:n` for its n-th repeat.
    public static func stepID(_ key: String) -> String {
        Hex.encode(Array(Insecure.SHA1.hash(data: Array(key.utf8))))
    }

    /// The header value for `body` (already in the form the verifier hashes) at `time`.
    public static func sign(_ body: [UInt8], key: String, time: Int = Int(Date().timeIntervalSince1970)) -> String {
        let stamp = String(time)
        let mac = Hex.encode(Array(HMAC<Crypto.SHA256>.authenticationCode(
            for: body + Array(stamp.utf8), using: SymmetricKey(data: Array(withoutPrefix(key).utf8)))))
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
        return constantTimeEquals("t=\(stamp)&s=\(signature)", expected)
    }

    /// Equal length and bytes, in time that does not depend on where they first differ (for signatures and keys).
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
