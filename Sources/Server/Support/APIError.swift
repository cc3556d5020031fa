import Hummingbird

/// An error meant for the HTTP client: a status and a message written to be read. Everything else
/// that escapes a handler is logged and becomes a plain 500 that leaks nothing (see ErrorMiddleware).
public struct APIError: Error, Sendable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func notFound(_ what: String) -> APIError { APIError(.notFound, "\(what) not found") }
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
}

/// Turns errors into responses at the edge: APIError as `{"error": message}` with its status,
/// anything else logged (with the request path) and answered with a bare 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return .json(["error": .string(error.message)], status: error.status)
        } catch let error as HTTPResponseError {
            throw error
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return Response(status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: "internal server error\n")))
        }
    }
}
