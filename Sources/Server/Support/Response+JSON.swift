import BlacklightCore
import Hummingbird

extension Response {
    /// A JSON body from a JSONValue (sorted keys, ints stay ints).
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ text: String, contentType: String = "text/plain; charset=utf-8", status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }
}

extension Request {
    /// The body parsed as JSON (at most `limit` bytes); 400 naming the problem otherwise.
    func jsonBody(limit: Int = 4 * 1024 * 1024) async throws -> JSONValue {
        let buffer = try await body.collect(upTo: limit)
        if buffer.readableBytes == 0 { return .object([:]) }
        do {
            return try JSONValue.parse(bytes: buffer.readableBytesView, exactNumbers: true)
        } catch {
            throw APIError.badRequest("request body is not valid JSON: \(error)")
        }
    }

    /// A query parameter, nil when missing or empty.
    func query(_ name: String) -> String? {
        guard let v = uri.queryParameters[Substring(name)], !v.isEmpty else { return nil }
        return String(v)
    }
}
