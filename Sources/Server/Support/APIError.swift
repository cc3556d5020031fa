import Engine
import Hummingbird
import PGStore

/// An error meant for the HTTP client: a status and a message written to be read. Everything else
/// that escapes a handler is logged and becomes a plain 500 that leaks nothing (see ErrorMiddleware).
public struct APIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// Seconds for a `Retry-After` header: the refusal is temporary and the same request may succeed then.
    public let retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "\(what) not found") }
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// The database cannot be reached (restarting, failing over, down). Nothing was stored, or, if the
    /// connection broke at COMMIT, possibly everything: a retry with the same event ids (the SDKs' seed header)
    /// stores nothing twice.
    static let databaseUnavailable = APIError(.serviceUnavailable, "the database is unavailable; retry later", retryAfter: 1)

    /// The event API's queue of requests waiting for the database is full; nothing of the request was stored.
    static let ingestQueueFull = APIError(.serviceUnavailable, "too many events are waiting to be stored; retry later", retryAfter: 1)

    /// What the client should see for `error`: itself if it is an APIError, 503 if the database is unavailable,
    /// nil for anything else (a 500).
    static func from(_ error: any Error) -> APIError? {
        if let api = error as? APIError { return api }
        // A refused event (a field too long, a NUL, a time out of range): the client's input, so a 400 with the message.
        if let engine = error as? EngineError, engine.code == .badInput { return APIError(.badRequest, engine.message) }
        // Refused by the parameter encoder before it reached the server (a NUL in a query string or a path, a time
        // PostgreSQL cannot hold): the request's fault, and nothing was sent.
        if let pg = error as? PGError, pg.code == .invalidArgument {
            return APIError(.badRequest, "a value in the request cannot be passed to the database: \(pg.message)")
        }
        if let pg = error as? PGError, pg.isUnavailable { return .databaseUnavailable }
        return nil
    }

    var headers: HTTPFields {
        var h: HTTPFields = [:]
        if let retryAfter { h[.retryAfter] = String(retryAfter) }
        return h
    }
}

/// Turns errors into responses at the edge: APIError (and an unreachable database, as 503) as
/// `{"error": message}` with its status, anything else logged (with the request path) and answered with a bare 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPResponseError {
            throw error
        } catch {
            if let api = APIError.from(error) {
                if api.status == .serviceUnavailable {
                    context.logger.warning("request refused", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                }
                var response = Response.json(["error": .string(api.message)], status: api.status)
                response.headers.append(contentsOf: api.headers)
                return response
            }
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "internal server error\n")))
        }
    }
}
