import BlacklightCore
import Foundation
import Engine
import Hummingbird

/// Server-rendered pages. Each reads through the same queries as the REST API; a page's live region
/// is the same renderer asked for a fragment (`?fragment=1`).
struct DashboardRoutes: Sendable {
    let pool: DatabasePool

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/") { _, _ in Response.redirect("/runs") }
        router.get("static/app.css") { _, _ in Response.text(Assets.css, contentType: "text/css; charset=utf-8") }
        router.get("static/app.js") { _, _ in Response.text(Assets.js, contentType: "text/javascript; charset=utf-8") }
        router.get("runs") { request, _ in try await self.runs(request) }
        router.get("runs/:id") { request, context in try await self.run(request, id: try context.parameters.require("id")) }
        router.get("events") { request, _ in try await self.events(request) }
        router.get("events/:id") { request, context in try await self.event(request, id: try context.parameters.require("id")) }
        router.get("functions") { _, _ in try await self.functions() }
    }

    func parse(_ text: String) -> JSONValue { (try? JSONValue.parse(text)) ?? .object([:]) }

    func runs(_ request: Request) async throws -> Response {
        var f = ReadQueries.RunFilter()
        f.function = request.query("function")
        f.status = request.query("status").map { [$0] }.flatMap { $0.allSatisfy(RunStatusName.all.contains) ? $0 : nil }
        f.eventName = request.query("event")
        f.since = request.query("since").flatMap { try? APIRoutes.time($0, "since") }
        f.until = request.query("until").flatMap { try? APIRoutes.time($0, "until") }
        f.cursor = request.query("cursor")
        f.limit = 50
        let filter = f
        let (list, functions) = try await pool.run { conn in
            (try ReadQueries().runs(filter, conn: conn), try RunControl().functionIDs(conn: conn))
        }
        let page = parse(list)
        let rows = RunsPage.rows(page["runs"]?.arrayValue ?? [])
        if request.query("fragment") != nil { return .html(rows) }
        return .html(RunsPage.render(filter: filter, functions: functions, rows: rows,
                                     next: page["next_cursor"]?.stringValue, since: request.query("since"), until: request.query("until")))
    }

    func run(_ request: Request, id: String) async throws -> Response {
        guard let text = try await pool.run({ try ReadQueries().run(id, conn: $0) }) else {
            return .html(Layout.page(title: "Run not found", active: "Runs",
                                     body: "<h1>Run not found</h1><p class=\"muted\">\(HTML.escape(id))</p>"), status: .notFound)
        }
        let run = parse(text)
        if request.query("fragment") != nil { return .html(RunPage.body(run)) }
        return .html(RunPage.render(run))
    }

    func events(_ request: Request) async throws -> Response {
        let name = request.query("name"), cursor = request.query("cursor")
        let text = try await pool.run { try ReadQueries().events(name: name, cursor: cursor, limit: 50, conn: $0) }
        let page = parse(text)
        let rows = EventsPage.rows(page["events"]?.arrayValue ?? [])
        if request.query("fragment") != nil { return .html(rows) }
        return .html(EventsPage.render(rows: rows, name: name, cursor: cursor, next: page["next_cursor"]?.stringValue))
    }

    func event(_ request: Request, id: String) async throws -> Response {
        guard let text = try await pool.run({ try ReadQueries().event(id, conn: $0) }) else {
            return .html(Layout.page(title: "Event not found", active: "Events",
                                     body: "<h1>Event not found</h1><p class=\"muted\">\(HTML.escape(id))</p>"), status: .notFound)
        }
        let event = parse(text)
        if request.query("fragment") != nil { return .html(EventsPage.runsTable(event["runs"]?.arrayValue ?? [])) }
        return .html(EventsPage.renderOne(event))
    }

    func functions() async throws -> Response {
        let (text, schedules) = try await pool.run { conn in
            (try ReadQueries().functions(conn: conn), try ReadQueries().schedules(conn: conn))
        }
        return .html(FunctionsPage.render(parse(text), schedules: schedules["schedules"]?.arrayValue ?? []))
    }
}
