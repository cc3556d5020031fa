import BlacklightCore
import Foundation
import Hummingbird

/// Outside `dev`, the API and the dashboard need `Authorization: Bearer <INNGEST_SIGNING_KEY>` or the
/// session cookie the login form sets. The event API has its own keys; health, readiness and metrics
/// are open for probes and scrapers. Without a configured signing key nothing protected is served.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let options: ServerOptions
    static var cookieName: String { "blacklight_session" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if options.dev || Self.isOpen(path) || authorized(request) {
            return try await next(request, context)
        }
        if path.hasPrefix("/api") {
            return .json(["error": "unauthorized: send Authorization: Bearer <INNGEST_SIGNING_KEY>"], status: .unauthorized)
        }
        return .html(LoginPage.render(next: path, error: nil), status: .unauthorized)
    }

    static func isOpen(_ path: String) -> Bool {
        path == "/e" || path.hasPrefix("/e/") || path == "/health" || path == "/ready" || path == "/metrics"
            || path == "/login" || path.hasPrefix("/static/")
    }

    func authorized(_ request: Request) -> Bool {
        guard let key = options.signingKey else { return false }
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return constantTimeEquals(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), key)
        }
        if let cookie = request.cookies[Self.cookieName]?.value {
            return constantTimeEquals(cookie, Self.sessionValue(key))
        }
        return false
    }

    /// The cookie proves knowledge of the key without containing it.
    static func sessionValue(_ key: String) -> String { SHA256.hex("blacklight-session:" + key) }
}
