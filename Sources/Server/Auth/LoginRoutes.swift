import Engine
import Foundation
import Hummingbird
import NIOCore

/// `GET /login` shows the form; `POST /login` checks the signing key and opens a session (a cookie naming a row
/// of `blacklight.sessions`); `POST /logout` ends it.
struct LoginRoutes: Sendable {
    let options: ServerOptions
    let pool: DatabasePool
    let limiter: LoginRateLimiter

    init(options: ServerOptions, pool: DatabasePool) {
        self.options = options
        self.pool = pool
        limiter = LoginRateLimiter(limit: options.loginAttempts, window: options.loginAttemptWindow)
    }

    func register<Context: RemoteAddressRequestContext>(on router: Router<Context>) {
        router.get("login") { request, _ in Response.html(LoginPage.render(next: request.query("next"), error: nil)) }
        router.post("login") { request, context in try await self.signIn(request, address: context.remoteAddress) }
        router.post("logout") { request, _ in try await self.signOut(request) }
    }

    func signIn(_ request: Request, address: SocketAddress?) async throws -> Response {
        if let wait = limiter.attempt(from: address?.ipAddress ?? "unknown") {
            var response = Response.html(LoginPage.render(next: nil, error: "Too many sign-in attempts; try again in \(wait) s."),
                                         status: .tooManyRequests)
            response.headers[.retryAfter] = String(wait)
            return response
        }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let form = Self.formFields(String(buffer: buffer))
        let next = SafeRedirect.path(form["next"])
        guard let key = options.signingKey, let given = form["key"], constantTimeEquals(given, key) else {
            return Response.html(LoginPage.render(next: next, error: "That key is not the signing key."), status: .unauthorized)
        }
        let (keyHash, lifetime) = (AuthMiddleware<BasicRequestContext>.keyHash(key), options.sessionLifetime)
        let token = try await pool.run { try SessionStore().open(keyHash: keyHash, lifetime: lifetime, conn: $0) }
        var response = Response.redirect(next)
        response.setCookie(Cookie(name: AuthMiddleware<BasicRequestContext>.cookieName, value: token,
                                  maxAge: Int(max(0, min(lifetime, 400 * 86400))), path: "/",
                                  secure: Self.cameOverTLS(request), httpOnly: true, sameSite: .strict))
        return response
    }

    func signOut(_ request: Request) async throws -> Response {
        let name = AuthMiddleware<BasicRequestContext>.cookieName
        if let token = request.cookies[name]?.value, !token.isEmpty, token.utf8.count <= 128 {
            try await pool.run { try SessionStore().close(token: token, conn: $0) }
        }
        var response = Response.redirect("/login")
        response.setCookie(Cookie(name: name, value: "", maxAge: 0, path: "/", secure: Self.cameOverTLS(request),
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    /// TLS here, or at a proxy in front that says so. Trusting the proxy header is safe for this use: at worst a
    /// client marks its own cookie Secure and its browser then keeps it off plain HTTP.
    static func cameOverTLS(_ request: Request) -> Bool {
        if request.head.scheme?.lowercased() == "https" { return true }
        guard let proto = request.headers[.xForwardedProto] else { return false }
        return proto.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
    }

    /// application/x-www-form-urlencoded fields.
    static func formFields(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if let k = kv.first { out[k] = kv.count > 1 ? kv[1] : "" }
        }
        return out
    }
}

enum LoginPage {
    static func render(next: String?, error: String?) -> String {
        Layout.page(title: "Sign in", active: "", body: """
            <section class="card narrow">
            <h1>Sign in</h1>
            <p>Enter the signing key (<code>INNGEST_SIGNING_KEY</code>) of this Blacklight server.</p>
            \(error.map { "<p class=\"error\">\(HTML.escape($0))</p>" } ?? "")
            <form method="post" action="/login">
              <input type="hidden" name="next" value="\(HTML.escape(SafeRedirect.path(next)))">
              <input type="password" name="key" placeholder="signing key" autofocus>
              <button type="submit">Sign in</button>
            </form>
            </section>
            """)
    }
}
