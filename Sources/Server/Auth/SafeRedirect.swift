import Foundation

/// Where sign-in may send the browser next (`next`): a path on this site, never another host.
///
/// The value has been percent-decoded once (query string or form). It must start with exactly one "/", and every
/// character must be printable ASCII other than "\": browsers read "\" as "/" and drop tabs and newlines, so
/// "/\tevil.com" or "/\evil.com" would become "//evil.com", another host. The same holds after one more decoding
/// ("/%2F/evil.com", "/%5Cevil.com", "/%09/evil.com"), for whatever proxy or framework decodes again.
/// Anything else lands on the runs page.
enum SafeRedirect {
    static let fallback = "/runs"

    static func path(_ next: String?) -> String {
        guard let next, isLocalPath(next) else { return fallback }
        return next
    }

    static func isLocalPath(_ s: String) -> Bool {
        guard s.utf8.count <= 2048, startsWithOneSlash(s),
              s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\\") }) else { return false }
        if let decoded = s.removingPercentEncoding, !startsWithOneSlash(decoded) { return false }
        return true
    }

    /// "/" then something that is neither a separator nor a character a browser drops or reads as one.
    private static func startsWithOneSlash(_ s: String) -> Bool {
        let bytes = Array(s.utf8.prefix(2))
        guard bytes.first == UInt8(ascii: "/") else { return false }
        guard bytes.count == 2 else { return true }
        let second = bytes[1]
        return second > 0x20 && second != 0x7f && second != UInt8(ascii: "/") && second != UInt8(ascii: "\\")
    }
}
