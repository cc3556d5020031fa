import BlacklightCore
import Engine
import Foundation
import Hummingbird
import Logging
import PGStore

/// The REST API under `/api`: reads of runs, events, functions and schedules, and the actions.
struct APIRoutes: Sendable {
    let pool: DatabasePool
    let options: ServerOptions
    let batcher: IngestBatcher
    var log: Logger { options.logger }

    func register<Context: RequestContext>(on router: Router<Context>) {
        let api = router.group("api")
        api.get("runs") { request, _ in try await self.listRuns(request) }
        BulkRoutes(pool: pool, log: log).register(on: api)
        api.get("runs/:id") { _, context in try await self.showRun(try context.parameters.require("id")) }
        api.post("runs/:id/cancel") { _, context in try await self.cancel(try context.parameters.require("id")) }
        api.post("runs/:id/rerun") { request, context in try await self.rerun(request, try context.parameters.require("id")) }
        api.get("events") { request, _ in try await self.listEvents(request) }
        api.post("events") { request, _ in try await self.sendEvents(request) }
        api.get("events/:id") { _, context in try await self.showEvent(try context.parameters.require("id")) }
        api.post("events/:id/replay") { _, context in try await self.replay(try context.parameters.require("id")) }
        api.get("functions") { _, _ in
            let text = try await pool.run { try ReadQueries().functions(conn: $0) }
            return Response.text(text, contentType: "application/json")
        }
        api.get("functions/:id") { _, context in
            let id = try context.parameters.require("id")
            let text = try await pool.run { try ReadQueries().functions(id: id, conn: $0) }
            guard let one = (try? JSONValue.parse(text))?["functions"]?[0] else { throw APIError.notFound("function \(id)") }
            return Response.json(one)
        }
        api.post("functions/:id/invoke") { request, context in
            let body = try await request.jsonBody()
            return try await self.invoke(try context.parameters.require("id"), data: body["data"] ?? .object([:]))
        }
        api.get("schedules") { _, _ in Response.json(try await pool.run { try ReadQueries().schedules(conn: $0) }) }
        api.post("schedules/:id/run") { _, context in try await self.runSchedule(try context.parameters.require("id")) }
    }

    func listRuns(_ request: Request) async throws -> Response {
        var f = ReadQueries.RunFilter(try BulkRoutes.filter(from: request, body: .object([:])))
        f.cursor = request.query("cursor")
        f.limit = try Self.limit(request)
        let filter = f
        return .text(try await pool.run { try ReadQueries().runs(filter, conn: $0) }, contentType: "application/json")
    }

    func showRun(_ id: String) async throws -> Response {
        guard let text = try await pool.run({ try ReadQueries().run(id, conn: $0) }) else { throw APIError.notFound("run \(id)") }
        return .text(text, contentType: "application/json")
    }

    func cancel(_ id: String) async throws -> Response {
        guard let (status, changed) = try await pool.run({ try RunControl().cancel(id, conn: $0) }) else {
            throw APIError.notFound("run \(id)")
        }
        if !changed { throw APIError(.conflict, "run \(id) is \(status) and cannot be cancelled") }
        log.info("run cancelled", metadata: ["run_id": "\(id)"])
        return .json(["id": .string(id), "status": .string(status)])
    }

    /// `{}` reruns the whole run; `{"step": KEY, "output": JSON?}` reruns from that step.
    func rerun(_ request: Request, _ id: String) async throws -> Response {
        let body = try await request.jsonBody()
        if let step = body["step"]?.stringValue ?? body["from_step"]?.stringValue {
            let output = body["output"]
            if let (path, problem) = output?.unstorablePart(maxDepth: options.limits.maxDataDepth) {
                throw APIError.badRequest("field 'output\(path)': \(problem)")
            }
            let result = try await pool.run { try RunControl().rerun(id, fromStep: step, output: output, conn: $0) }
            switch result {
            case .noRun: throw APIError.notFound("run \(id)")
            case .noStep: throw APIError.notFound("step '\(step)' of run \(id)")
            case .started(let newID):
                log.info("run rerun from step", metadata: ["run_id": "\(newID)", "from_run_id": "\(id)", "step": "\(step)"])
                return .json(["run_id": .string(newID), "from_run_id": .string(id), "from_step": .string(step)], status: .created)
            }
        }
        guard let newID = try await pool.run({ try RunControl().rerun(id, conn: $0) }) else { throw APIError.notFound("run \(id)") }
        log.info("run rerun", metadata: ["run_id": "\(newID)", "from_run_id": "\(id)"])
        return .json(["run_id": .string(newID), "from_run_id": .string(id)], status: .created)
    }

    func listEvents(_ request: Request) async throws -> Response {
        let name = request.query("name"), cursor = request.query("cursor"), limit = try Self.limit(request)
        return .text(try await pool.run { try ReadQueries().events(name: name, cursor: cursor, limit: limit, conn: $0) },
                     contentType: "application/json")
    }

    func showEvent(_ id: String) async throws -> Response {
        guard let text = try await pool.run({ try ReadQueries().event(id, conn: $0) }) else { throw APIError.notFound("event \(id)") }
        return .text(text, contentType: "application/json")
    }

    /// Same body and rules as the event API, answered the same way.
    func sendEvents(_ request: Request) async throws -> Response {
        let events: [EventStore.Event]
        switch EventRoutes.events(try await request.body.collect(upTo: options.limits.maxRequestBytes).readableBytesView,
                                  limits: options.limits) {
        case .success(let e): events = e
        case .failure(let refusal): return EventRoutes.answer([], status: .badRequest, error: refusal.message)
        }
        let seed = EventIDSeed.random()
        return try await EventRoutes.store(events, ids: events.indices.map(seed.id(at:)), batcher: batcher)
    }

    /// Sends a stored event again as a new event (same name and data, no client id).
    func replay(_ id: String) async throws -> Response {
        let ids = try await pool.run { conn -> [String]? in
            guard let event = try RunControl().storedEvent(id, conn: conn) else { return nil }
            return try EventStore().send([event], conn: conn)
        }
        guard let ids else { throw APIError.notFound("event \(id)") }
        return EventRoutes.answer(ids, status: .ok)
    }

    func invoke(_ function: String, data: JSONValue) async throws -> Response {
        guard case .object = data else { throw APIError.badRequest("'data' must be a JSON object") }
        // The same checks as any event's data: this one is stored as a `blacklight/invoke` event.
        do {
            try EventStore.Event(name: "blacklight/invoke", data: data).validate(index: 0, limits: options.limits)
        } catch {
            throw APIError.badRequest(error.message)
        }
        let result = try await pool.run { try RunControl().invoke(function, data: data, conn: $0) }
        switch result {
        case .noFunction: throw APIError.notFound("active function \(function)")
        case .skipped(let eventID):
            return .json(["event_id": .string(eventID), "run_id": .null, "skipped": "idempotency key already used in the last 24 h"])
        case .started(let eventID, let runID):
            log.info("function invoked", metadata: ["run_id": "\(runID)", "function": "\(function)"])
            return .json(["event_id": .string(eventID), "run_id": .string(runID)], status: .created)
        }
    }

    func runSchedule(_ id: String) async throws -> Response {
        guard let s = try await pool.run({ try RunControl().scheduleFunction(id, conn: $0) }) else { throw APIError.notFound("schedule \(id)") }
        if let function = s.function {
            return try await invoke(function, data: ["cron": "manual", "function_id": .string(function), "schedule_id": .string(id)])
        }
        let name = s.event ?? ""
        let ids = try await pool.run { try EventStore().send([EventStore.Event(name: name, data: s.data)], conn: $0) }
        return EventRoutes.answer(ids, status: .ok)
    }

    static func limit(_ request: Request) throws -> Int {
        guard let text = request.query("limit") else { return 50 }
        guard let n = Int(text), n >= 1, n <= 1000 else { throw APIError.badRequest("'limit' must be a whole number from 1 to 1000") }
        return n
    }

    /// An ISO 8601 time, a date, or milliseconds since 1970, in years 1 to 9999 (`RunFilter.time`).
    static func time(_ text: String, _ field: String) throws -> Date {
        do {
            return try RunFilter.time(text, field: field)
        } catch let error as EngineError {
            throw APIError.badRequest(error.message)
        }
    }
}

enum RunStatusName {
    static let all = ["queued", "running", "sleeping", "waiting", "completed", "failed", "cancelled"]
}
