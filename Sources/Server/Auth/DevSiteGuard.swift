import BlacklightCore
import Foundation
import Hummingbird

/// What stands in for authentication in `dev`, which asks for no keys: only this machine's own pages and tools.
///
/// - A request must be addressed to a loopback Host (127.0.0.1, localhost or [::1], any port). A web page that
///   points its own name at 127.0.0.1 (DNS rebinding) sends its own name as Host and is refused.
/// - A state-changing request (POST, PUT, PATCH, DELETE) must not come from another site's page: a browser marks
///   those with `Sec-Fetch-Site: cross-site` and an `Origin` that is not loopback (a form or fetch on any page the
///   developer visits could otherwise send events, invoke functions or run schedules). SDKs and curl send
///   neither header and pass; pages on another loopback port (the developer's own app) pass.
struct DevSiteGuard<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority = request.head.authority, LoopbackHost.isLoopback(authority: authority) else {
            let named = request.head.authority.map { "'\($0)'" } ?? "no Host"
            return .json(["error": .string("blacklight dev answers only requests addressed to 127.0.0.1, localhost or [::1] "
                                           + "(this one had \(named)); to serve other hosts run `blacklight serve` with keys")],
                         status: .forbidden)
        }
        if Self.changesState(request.method), let site = Self.foreignSite(request) {
            return .json(["error": .string("blacklight dev refuses state-changing requests from another site (\(site))")],
                         status: .forbidden)
        }
        return try await next(request, context)
    }

    static func changesState(_ method: HTTPRequest.Method) -> Bool {
        method == .post || method == .put || method == .patch || method == .delete
    }

    /// The header that says the request comes from another site's page, if one does.
    static func foreignSite(_ request: Request) -> String? {
        if let fetchSite = request.headers[.secFetchSite], fetchSite.lowercased() == "cross-site" {
            return "Sec-Fetch-Site: cross-site"
        }
        if let origin = request.headers[.origin] {
            // "null" is an opaque origin: a sandboxed frame, a file:// page, a redirect chain across sites.
            guard let host = URLComponents(string: origin)?.host, LoopbackHost.isLoopback(host: host) else {
                return "Origin: \(origin.prefix(100))"
            }
        }
        return nil
    }
}

/// The names that mean this machine and cannot be pointed elsewhere by a DNS answer.
enum LoopbackHost {
    static func isLoopback(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return h == "127.0.0.1" || h == "localhost" || h == "::1"
    }

    /// A Host header value: a name or IPv4 address with an optional port, or a bracketed IPv6 address with one.
    static func isLoopback(authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || Self.isPort(rest) else { return false }
            host = host[...close]
        } else if let colon = host.firstIndex(of: ":") {
            guard Self.isPort(host[colon...]) else { return false }
            host = host[..<colon]
        }
        return isLoopback(host: String(host))
    }

    /// ":" followed by 1 to 5 digits.
    private static func isPort(_ s: Substring) -> Bool {
        s.first == ":" && (2...6).contains(s.count) && s.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }
}
