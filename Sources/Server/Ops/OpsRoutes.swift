import BlacklightCore
import Engine
import Hummingbird
import PGStore

/// `/health` (the process answers), `/ready` (database reachable, migrations current), `/metrics`.
struct OpsRoutes: Sendable {
    let pool: DatabasePool
    let metrics: Metrics

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("health") { _, _ in Response.json(["status": "ok"]) }
        router.get("ready") { _, _ in await self.ready() }
        router.get("metrics") { _, _ in
            Response.text(try await metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    func ready() async -> Response {
        do {
            let pending = try await pool.run { conn in try EngineMigrations.migrator().status(conn).pending }
            if !pending.isEmpty {
                return .json(["status": "not ready", "error": .string("migrations pending: \(pending.map(String.init).joined(separator: ", "))")],
                             status: .serviceUnavailable)
            }
            return .json(["status": "ready"])
        } catch {
            // The reason is for operators (logs); the probe learns only that the database is not usable.
            return .json(["status": "not ready", "error": "database unavailable or ahead of this build"], status: .serviceUnavailable)
        }
    }
}
