import BlacklightCore
import Engine
import Foundation
import Hummingbird
import Logging

/// `POST /api/runs/cancel`, `POST /api/runs/replay` (the filters of `GET /api/runs`, `dry_run`, and for a replay
/// `rate`), and `POST /api/functions/:id/pause|resume`. The work is Engine's (`BulkRuns`, `FunctionPause`).
struct BulkRoutes: Sendable {
    let pool: DatabasePool
    let log: Logger

    /// The body's fields; anything else is refused by name, so a misspelt filter cannot widen an action to
    /// every run.
    static let fields = Set(["function", "status", "event", "event_id", "since", "until", "dry_run", "rate"])
        .union(aliases.keys)

    /// Other names a client may use for a filter: the run's own field names in `GET /api/runs`' answer.
    static let aliases = ["function_id": "function", "event_name": "event"]

    func register<Context: RequestContext>(on api: RouterGroup<Context>) {
        api.post("runs/cancel") { request, _ in try await self.bulk(request, replay: false) }
        api.post("runs/replay") { request, _ in try await self.bulk(request, replay: true) }
        api.post("functions/:id/pause") { _, context in try await self.pause(try context.parameters.require("id"), pause: true) }
        api.post("functions/:id/resume") { _, context in try await self.pause(try context.parameters.require("id"), pause: false) }
    }

    /// `{"action": "cancel", "dry_run": true, "count": 12}`; a replay adds `rate` ("spare", runs per second, or null
    /// when unpaced) and `spread_seconds` (until the last replayed run is due; null unless paced per second).
    func bulk(_ request: Request, replay: Bool) async throws -> Response {
        let body = try await request.jsonBody()
        guard case .object(let fields) = body else { throw APIError.badRequest("the body must be a JSON object") }
        if let unknown = fields.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw APIError.badRequest("unknown field '\(unknown)': use \(Self.fields.sorted().joined(separator: ", "))")
        }
        let filter = try Self.filter(from: request, body: body)
        if filter.isEmpty {
            throw APIError.badRequest("name at least one filter (function, status, event, event_id, since, until); "
                                      + "a bulk action never takes every run by default")
        }
        let dryRun = try Self.flag(body["dry_run"], query: request.query("dry_run"), "dry_run")
        let pace = replay ? try Self.pace(body["rate"], query: request.query("rate")) : .allAtOnce
        let action = replay ? "replay" : "cancel"
        let outcome = try await pool.run { conn -> BulkRuns.Outcome in
            let bulk = BulkRuns()
            switch (replay, dryRun) {
            case (false, true): return .init(count: try bulk.countCancellable(filter, conn: conn))
            case (true, true): return .init(count: try bulk.countReplayable(filter, conn: conn))
            case (false, false): return try bulk.cancel(filter, conn: conn)
            case (true, false): return try bulk.replay(filter, pace: pace, conn: conn)
            }
        }
        if !dryRun { log.info("bulk \(action)", metadata: ["count": "\(outcome.count)", "filter": "\(filter)"]) }
        var answer: [String: JSONValue] = ["action": .string(action), "dry_run": .bool(dryRun), "count": .int(Int64(outcome.count))]
        if replay {
            switch pace {
            case .spareCapacity: answer["rate"] = "spare"
            case .perSecond(let r): answer["rate"] = .double(r)
            case .allAtOnce: answer["rate"] = .null
            }
            if !dryRun { answer["spread_seconds"] = outcome.spreadSeconds.map { .double($0) } ?? .null }
        }
        return .json(.object(answer))
    }

    func pause(_ id: String, pause: Bool) async throws -> Response {
        let outcome = try await pool.run { conn in
            pause ? try FunctionPause().pause(id, conn: conn) : try FunctionPause().resume(id, conn: conn)
        }
        guard case .done(let changed, let runs) = outcome else { throw APIError.notFound("function \(id)") }
        if changed { log.info(pause ? "function paused" : "function resumed", metadata: ["function": "\(id)"]) }
        return .json(["id": .string(id), "paused": .bool(pause), "changed": .bool(changed),
                      pause ? "runs_waiting" : "runs_resumed": .int(Int64(runs))])
    }

    /// The filters from the JSON body, else from the query string (as `GET /api/runs` takes them). `status` may
    /// be a list; `since`/`until` may be numbers (milliseconds since 1970).
    static func filter(from request: Request, body: JSONValue) throws -> RunFilter {
        func text(_ name: String) throws -> String? {
            let names = [name] + aliases.filter { $0.value == name }.map(\.key)
            let given = try names.compactMap { try one($0) }
            guard let first = given.first else { return nil }
            if given.contains(where: { $0 != first }) {
                throw APIError.badRequest("'\(names.joined(separator: "' and '"))' name the same filter and differ")
            }
            return first
        }
        func one(_ name: String) throws -> String? {
            guard let v = body[name], !v.isNull else { return request.query(name) }
            switch v {
            case .string(let s): return s
            case .array(let items) where name == "status":
                return try items.map { item -> String in
                    guard let s = item.stringValue else { throw APIError.badRequest("'status' must be a string or a list of strings") }
                    return s
                }.joined(separator: ",")
            case .int where name == "since" || name == "until": return v.serialized()
            case .double where name == "since" || name == "until": return v.serialized()
            default: throw APIError.badRequest("'\(name)' must be a string")
            }
        }
        return try RunFilter.parse(function: text("function"), status: text("status"), event: text("event"),
                                   eventID: text("event_id"), since: text("since"), until: text("until"))
    }

    static func flag(_ value: JSONValue?, query: String?, _ name: String) throws -> Bool {
        if let value, !value.isNull {
            guard let b = value.boolValue else { throw APIError.badRequest("'\(name)' must be true or false") }
            return b
        }
        guard let query else { return false }
        switch query {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.badRequest("'\(name)' must be true or false")
        }
    }

    /// How replayed runs become due: absent or `"spare"` → at the workers' spare capacity (the default); a number →
    /// that many per second; `0` or `"none"` → all at once.
    static func pace(_ value: JSONValue?, query: String?) throws -> BulkRuns.Pace {
        let refusal = APIError.badRequest("'rate' must be a positive number of runs per second, \"spare\" (the default: "
                                          + "as fast as the workers have room beside new events), or 0 for no pacing")
        var n: Double?
        if let value, !value.isNull {
            if value.stringValue == "none" { return .allAtOnce }
            if value.stringValue == "spare" { return .spareCapacity }
            guard let d = value.doubleValue else { throw refusal }
            n = d
        } else if let query {
            if query == "none" { return .allAtOnce }
            if query == "spare" { return .spareCapacity }
            guard let d = Double(query) else { throw refusal }
            n = d
        }
        guard let n else { return .spareCapacity }
        if n == 0 { return .allAtOnce }
        guard n.isFinite, n > 0 else { throw refusal }
        return .perSecond(n)
    }
}
