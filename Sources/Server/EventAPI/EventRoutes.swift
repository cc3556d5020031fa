import BlacklightCore
import Engine
import Foundation
import Hummingbird
import PGStore

/// The Inngest-compatible event API: `POST /e/{event_key}`.
struct EventRoutes: Sendable {
    let pool: DatabasePool
    let options: ServerOptions
    let batcher: IngestBatcher
    static let seedHeader = "x-inngest-event-id-seed"

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/e/:key") { request, context in try await self.receive(request, key: context.parameters.get("key") ?? "") }
        router.post("/e") { request, _ in try await self.receive(request, key: "") }
    }

    /// Answers the SDKs' shape: `{"ids": [...], "status": 200}`, or `{"ids": [], "status": 4xx/503, "error": ...}`.
    static func answer(_ ids: [String], status: HTTPResponse.Status, error: String? = nil) -> Response {
        var o: [String: JSONValue] = ["ids": .array(ids.map { .string($0) }), "status": .int(Int64(status.code))]
        if let error { o["error"] = .string(error) }
        return .json(.object(o), status: status)
    }

    /// Stores the events through the batcher and answers in the SDKs' shape, a refusal (queue full, database
    /// unavailable) included, with its `Retry-After`. Other errors go on to ErrorMiddleware (a 500).
    static func store(_ events: [EventStore.Event], ids: [String], batcher: IngestBatcher) async throws -> Response {
        do {
            return answer(try await batcher.ingest(events, ids: ids), status: .ok)
        } catch {
            guard let refusal = APIError.from(error) else { throw error }
            var response = answer([], status: refusal.status, error: refusal.message)
            response.headers.append(contentsOf: refusal.headers)
            return response
        }
    }

    /// Parses and validates a request body, all of it before anything is queued for the database: a bad request
    /// never reaches a merged insert. Numbers must be exact (no integer beyond Int64, no infinity).
    static func events(_ bytes: some Collection<UInt8>, limits: EventLimits) -> Result<[EventStore.Event], APIError> {
        let body: JSONValue
        do {
            body = try JSONValue.parse(bytes: bytes, exactNumbers: true)
        } catch {
            return .failure(.badRequest("request body is not valid JSON: \(error)"))
        }
        do {
            return .success(try EventStore.events(json: body, limits: limits))
        } catch {
            return .failure(.badRequest(error.message))
        }
    }

    func keyAccepted(_ key: String) -> Bool {
        if options.dev || options.eventKeys.isEmpty { return true }
        return options.eventKeys.contains { constantTimeEquals($0, key) }
    }

    func receive(_ request: Request, key: String) async throws -> Response {
        guard keyAccepted(key) else { return Self.answer([], status: .unauthorized, error: "event key not found") }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: options.limits.maxRequestBytes)
        } catch {
            return Self.answer([], status: .contentTooLarge,
                               error: "request body is over the limit of \(options.limits.maxRequestBytes / (1024 * 1024)) MB")
        }
        let events: [EventStore.Event]
        switch Self.events(buffer.readableBytesView, limits: options.limits) {
        case .success(let e): events = e
        case .failure(let refusal): return Self.answer([], status: .badRequest, error: refusal.message)
        }
        // A seed far from now is ignored (see EventIDSeed): the request then gets fresh ids.
        let seed = request.headers.first(where: { $0.name.canonicalName == Self.seedHeader }).flatMap { EventIDSeed($0.value) } ?? EventIDSeed.random()
        let ids = events.indices.map(seed.id(at:))
        let response = try await Self.store(events, ids: ids, batcher: batcher)
        options.logger.debug("events received", metadata: ["count": "\(events.count)", "status": "\(response.status.code)"])
        return response
    }
}

/// Compares secrets without an early exit, so timing does not reveal how much of a guess matched.
func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var diff = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return diff == 0
}
