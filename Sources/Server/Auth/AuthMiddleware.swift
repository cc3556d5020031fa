import BlacklightCore
import Engine
import Foundation
import Hummingbird

/// Outside `dev`, the API and the dashboard need `Authorization: Bearer <INNGEST_SIGNING_KEY>` or the session
/// cookie the sign-in form sets (a session the server keeps, see SessionStore); `/metrics` needs the Bearer token.
/// The event API has its own keys; health and readiness are open for probes. Without a configured signing key
/// nothing protected is served.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let options: ServerOptions
    let pool: DatabasePool
    static var cookieName: String { "blacklight_session" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if options.dev || Self.isOpen(path) || bearer(request) {
            return try await next(request, context)
        }
        if path == "/metrics" {
            var response = Response.text("unauthorized: send Authorization: Bearer <INNGEST_SIGNING_KEY>\n", status: .unauthorized)
            response.headers[.wwwAuthenticate] = "Bearer realm=\"blacklight\""
            return response
        }
        if try await hasSession(request) {
            return try await DashboardSession.$signedIn.withValue(true) { try await next(request, context) }
        }
        if path.hasPrefix("/api") {
            return .json(["error": "unauthorized: send Authorization: Bearer <INNGEST_SIGNING_KEY>"], status: .unauthorized)
        }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        return .html(LoginPage.render(next: path + query, error: nil), status: .unauthorized)
    }

    static func isOpen(_ path: String) -> Bool {
        path == "/e" || path.hasPrefix("/e/") || path == "/health" || path == "/ready"
            || path == "/login" || path == "/logout" || path.hasPrefix("/static/")
            // Inngest SDK apps sync with the signing key hashed, which AppSyncRoutes checks itself.
            || path == "/fn/register"
    }

    func bearer(_ request: Request) -> Bool {
        guard let key = options.signingKey, let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return constantTimeEquals(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), key)
    }

    func hasSession(_ request: Request) async throws -> Bool {
        guard let key = options.signingKey, let token = request.cookies[Self.cookieName]?.value, !token.isEmpty,
              token.utf8.count <= 128 else { return false }
        let keyHash = Self.keyHash(key)
        return try await pool.run { try SessionStore().isOpen(token: token, keyHash: keyHash, conn: $0) }
    }

    /// What a session remembers of the key it was opened with: rotating the key ends every session.
    static func keyHash(_ key: String) -> String { SHA256.hex("blacklight-signing-key:" + key) }
}

/// Whether the page being rendered was asked for with a session (so the layout offers to sign out). A task-local
/// rather than a parameter through every page renderer: it is a fact about the request, set by the middleware.
enum DashboardSession {
    @TaskLocal static var signedIn = false
}
