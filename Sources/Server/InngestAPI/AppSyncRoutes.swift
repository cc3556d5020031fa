import BlacklightCore
import Engine
import Foundation
import Hummingbird
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What Inngest SDK apps call on the server: `POST /fn/register` (the SDK's out-of-band sync, comm_lib/handler.py
/// `Syncer._create_out_of_band_request`), authenticated outside dev with `Authorization: Bearer <hashed signing key>`
/// (`transforms.hash_signing_key`). Plus, under the REST API, the apps and a sync started from the server's side.
struct AppSyncRoutes: Sendable {
    let pool: DatabasePool
    let options: ServerOptions
    var log: Logger { options.logger }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/fn/register") { request, _ in try await self.registerApp(request) }
        router.get("/api/apps") { _, _ in Response.json(try await pool.run { try AppQueries.list(conn: $0) }) }
        router.post("/api/apps/sync") { request, _ in try await self.pull(request) }
    }

    /// Whether the SDK's Bearer token is this server's signing key, hashed as the SDK hashes it (or the key itself,
    /// as the REST API takes it). In dev any caller may sync, as with Inngest's dev server.
    func authorized(_ request: Request) -> Bool {
        if options.dev { return true }
        guard let key = options.signingKey, let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let given = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        if let hashed = InngestSignature.hashedKey(key), InngestSignature.constantTimeEquals(given, hashed) { return true }
        return InngestSignature.constantTimeEquals(given, key)
    }

    func registerApp(_ request: Request) async throws -> Response {
        guard authorized(request) else {
            log.warning("app sync refused: the Authorization header is missing or not this server's signing key",
                        metadata: ["path": "/fn/register"])
            return .json(["error": "unauthorized: the app must be configured with this server's INNGEST_SIGNING_KEY"], status: .unauthorized)
        }
        let body = try await request.jsonBody(limit: 16 * 1024 * 1024)
        do {
            let result = try await pool.run { try AppSync().sync(body, conn: $0) }
            log.info("app synced", metadata: ["app": "\(result.app)", "changes": "\(result.changes.filter { $0.kind != .unchanged }.count)"])
            return .json(["ok": true, "modified": .bool(result.modified)])
        } catch let error as EngineError where error.code == .validation {
            log.warning("app sync refused: \(error.message)")
            return .json(["error": .string(error.message)], status: .badRequest)
        }
    }

    /// `POST /api/apps/sync {"url": "http://app:5000/api/inngest"}`: asks the app to sync, as Inngest's dev server
    /// does with `-u URL`: a `PUT` on its serve route makes the SDK post its functions to `/fn/register`.
    func pull(_ request: Request) async throws -> Response {
        let body = try await request.jsonBody()
        guard let text = body["url"]?.stringValue, let url = URL(string: text), ["http", "https"].contains(url.scheme ?? "") else {
            throw APIError.badRequest("'url' must be the app's serve URL, like \"http://app:5000/api/inngest\"")
        }
        var put = URLRequest(url: url)
        put.httpMethod = "PUT"
        put.timeoutInterval = 30
        put.setValue(options.dev ? "dev" : "cloud", forHTTPHeaderField: "X-Inngest-Server-Kind")
        do {
            let (data, response) = try await URLSession.shared.data(for: put)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let answer = (try? JSONValue.parse(String(decoding: data, as: UTF8.self))) ?? .string(String(decoding: data.prefix(500), as: UTF8.self))
            return .json(["status": .int(Int64(status)), "answer": answer], status: (200..<300).contains(status) ? .ok : .badGateway)
        } catch {
            throw APIError(.badGateway, "the app at \(text) could not be reached: \(error.localizedDescription)")
        }
    }
}
