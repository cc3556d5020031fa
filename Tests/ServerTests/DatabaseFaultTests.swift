import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport

/// The real `blacklight serve` while its PostgreSQL stops, restarts, or while serve itself is SIGKILLed: answers are
/// 200 (stored, run exactly once) or 503 with `Retry-After` (never a 500, never a hang), and the engine resumes.
@Suite("Database faults", .serialized)
struct DatabaseFaultTests {
    static let effect = """
        return workflow {
          id = "effect",
          triggers = { { event = "fault/effect" } },
          run = function(ctx, step)
            step.run("write", function()
              db.exec("INSERT INTO effects (k, step) VALUES ($1, 'write')", ctx.event.data.k)
              return true
            end)
            return step.run("done", function() return ctx.event.data.k end)
          end,
        }
        """
    static let ticker = """
        return workflow {
          id = "ticker",
          triggers = { { cron = "* * * * *" } },
          run = function(ctx, step) return step.run("tick", function() return ctx.event.data.tick end) end,
        }
        """
    static let setupSQL = "CREATE TABLE effects (k bigint NOT NULL, step text NOT NULL)"

    /// A project folder with the two workflows.
    static func project() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("bl-faults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try effect.write(to: root.appendingPathComponent("scripts/effect.lua"), atomically: true, encoding: .utf8)
        try ticker.write(to: root.appendingPathComponent("scripts/ticker.lua"), atomically: true, encoding: .utf8)
        return root
    }

    /// A private cluster this suite may stop and restart without disturbing other suites, with one database.
    static func restartableDatabase(_ name: String) throws -> (EmbeddedCluster, String) {
        let cluster = TestDatabase.scratchCluster(name)
        try cluster.start()
        let admin = try PGConnection(url: cluster.url())
        defer { admin.close() }
        if try admin.query("SELECT 1 FROM pg_database WHERE datname = 'faults'").rows.isEmpty {
            try cluster.createDatabase("faults")
        }
        let url = cluster.url(database: "faults")
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        try conn.execScript("DROP TABLE IF EXISTS effects; " + setupSQL)
        return (cluster, url)
    }

    /// Every acknowledged event is stored and its run completed, with its step's effect applied exactly once; no
    /// event at all (acknowledged or not) had its effect applied twice.
    static func expectAcknowledgedRunOnce(_ answers: [EventSenders.Answer], url: String) throws {
        let acked = answers.filter { $0.status == 200 }
        let ids = acked.compactMap(\.eventID)
        #expect(ids.count == acked.count, "every 200 carries its event id")
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let idArray = PGValue.array(ids.map { .text($0) })
        #expect(try conn.query("SELECT count(*) FROM blacklight.events WHERE id = ANY($1::text[])", [idArray]).scalar.intValue
                == Int64(ids.count))
        try Poll.until("the run of every acknowledged event to complete", timeout: 120) {
            try conn.query("""
                SELECT count(*) FROM blacklight.runs WHERE event_id = ANY($1::text[]) AND function_id = 'effect' AND status = 'completed'
                """, [idArray]).scalar.intValue == Int64(ids.count)
        }
        let ks = PGValue.array(acked.map { .int(Int64($0.k)) })
        #expect(try conn.query("SELECT count(*) FROM effects WHERE k = ANY($1::bigint[])", [ks]).scalar.intValue == Int64(acked.count))
        let twice = try conn.query("SELECT k FROM effects GROUP BY k, step HAVING count(*) > 1").rows.compactMap { $0["k"].intValue }
        #expect(twice.isEmpty, "effects applied twice for k = \(twice)")
        #expect(try conn.query("SELECT count(*) FROM blacklight.runs WHERE status = 'failed'").scalar.intValue == 0)
    }

    @Test("with the database down, the event and REST APIs answer 503 with Retry-After at once, /ready is 503, and all recover")
    func databaseDownAnswers503AndRecovers() throws {
        let (cluster, url) = try Self.restartableDatabase("down")
        defer { cluster.stop() }
        let root = try Self.project()
        defer { try? FileManager.default.removeItem(at: root) }
        let serve = try ServeProcess(databaseURL: url, root: root, extra: ["--lease-seconds", "3"],
                                     environment: ["INNGEST_SIGNING_KEY": "sk"])
        defer { serve.terminate() }
        try serve.waitUntilListening()
        let port = serve.port
        let event = #"{"name":"fault/effect","data":{"k":1}}"#
        #expect(try BlockingHTTP.request("POST", port: port, "/e/k", body: event).status == 200)
        #expect(try BlockingHTTP.request("GET", port: port, "/ready").status == 200)

        cluster.stop()
        for _ in 0..<3 {
            // The request's own timeout is the bound against a hang (it throws).
            let refused = try BlockingHTTP.request("POST", port: port, "/e/k", body: #"{"name":"fault/effect","data":{"k":2}}"#)
            #expect(refused.status == 503)
            #expect(refused.headers["retry-after"] == "1")
            #expect(refused.json == ["ids": [], "status": 503, "error": "the database is unavailable; retry later"])
        }
        let api = try BlockingHTTP.request("GET", port: port, "/api/runs", headers: ["authorization": "Bearer sk"])
        #expect(api.status == 503)
        #expect(api.headers["retry-after"] == "1")
        #expect(api.json["error"] == "the database is unavailable; retry later")
        #expect(try BlockingHTTP.request("POST", port: port, "/api/events", body: event, headers: ["authorization": "Bearer sk"]).status == 503)
        #expect(try BlockingHTTP.request("GET", port: port, "/ready").status == 503)

        try cluster.start()
        try Poll.until("/ready to answer 200 again") { try BlockingHTTP.request("GET", port: port, "/ready").status == 200 }
        let accepted = try BlockingHTTP.request("POST", port: port, "/e/k", body: #"{"name":"fault/effect","data":{"k":3}}"#)
        #expect(accepted.status == 200)
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        try Poll.until("the runs of the events accepted before and after the outage to complete") {
            try conn.query("SELECT count(*) FROM effects WHERE k IN (1, 3)").scalar.intValue == 2
        }
        #expect(try conn.query("SELECT count(*) FROM effects WHERE k = 2").scalar.intValue == 0)
        #expect(serve.process.isRunning)
    }

    @Test("a request that does not fit in the ingest queue gets 503 with Retry-After: 1 and nothing of it is stored")
    func overfullIngestQueueIsRefused() throws {
        let url = try TestDatabase.fresh(prepare: { try $0.execScript(Self.setupSQL) }, templateKey: "faults")
        let root = try Self.project()
        defer { try? FileManager.default.removeItem(at: root) }
        let serve = try ServeProcess(databaseURL: url, root: root, extra: ["--max-queued-events", "2"])
        defer { serve.terminate() }
        try serve.waitUntilListening()
        let three = #"[{"name":"fault/queue"},{"name":"fault/queue"},{"name":"fault/queue"}]"#
        let refused = try BlockingHTTP.request("POST", port: serve.port, "/e/k", body: three)
        #expect(refused.status == 503)
        #expect(refused.headers["retry-after"] == "1")
        #expect(refused.json == ["ids": [], "status": 503, "error": "too many events are waiting to be stored; retry later"])
        let two = #"[{"name":"fault/queue"},{"name":"fault/queue"}]"#
        #expect(try BlockingHTTP.request("POST", port: serve.port, "/e/k", body: two).status == 200)
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        #expect(try conn.query("SELECT count(*) FROM blacklight.events WHERE name = 'fault/queue'").scalar.intValue == 2)
    }

    @Test("PostgreSQL restarted during ingest: every 200 is stored and run exactly once, the rest are 503, workers and cron resume")
    func postgresRestartDuringIngest() throws {
        let (cluster, url) = try Self.restartableDatabase("restart")
        defer { cluster.stop() }
        let root = try Self.project()
        defer { try? FileManager.default.removeItem(at: root) }
        let serve = try ServeProcess(databaseURL: url, root: root, extra: ["--lease-seconds", "3"])
        defer { serve.terminate() }
        try serve.waitUntilListening()
        let senders = EventSenders(port: serve.port, name: "fault/effect", clients: 4)
        try Poll.until("some events accepted before the restart") { senders.count(status: 200) >= 50 }
        cluster.stop()
        try Poll.until("requests refused while PostgreSQL is down") { senders.count(status: 503) >= 5 }
        try cluster.start()
        let before = senders.count(status: 200)
        try Poll.until("events accepted again after the restart") { senders.count(status: 200) >= before + 50 }
        let answers = senders.stop()

        let statuses = Set(answers.map(\.status))
        #expect(statuses.isSubset(of: [200, 503]), "answers other than 200 and 503: \(statuses)")
        #expect(answers.filter { $0.status == 503 }.allSatisfy { $0.retryAfter == "1" })
        let slowest = answers.map(\.seconds).max() ?? 0
        #expect(slowest < 8, "a request took \(slowest) s")
        try Self.expectAcknowledgedRunOnce(answers, url: url)

        // Cron resumes: pretend the last tick was long ago; the scheduler (reconnected) fires the latest one.
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let ticks = try conn.query("SELECT count(*) FROM blacklight.runs WHERE function_id = 'ticker' AND status = 'completed'").scalar.intValue ?? 0
        try conn.exec("UPDATE blacklight.schedules SET last_tick = now() - interval '1 hour' WHERE function_id = 'ticker'")
        try Poll.until("a cron tick after the restart") {
            try conn.query("SELECT count(*) FROM blacklight.runs WHERE function_id = 'ticker' AND status = 'completed'").scalar.intValue ?? 0 > ticks
        }
        #expect(serve.process.isRunning)
    }

    @Test("serve SIGKILLed during ingest: every event acknowledged before the kill is stored and, after a restart, run exactly once")
    func serveKilledDuringIngest() throws {
        let url = try TestDatabase.fresh(prepare: { try $0.execScript(Self.setupSQL) }, templateKey: "faults")
        let root = try Self.project()
        defer { try? FileManager.default.removeItem(at: root) }
        let first = try ServeProcess(databaseURL: url, root: root, extra: ["--lease-seconds", "3"])
        try first.waitUntilListening()
        let senders = EventSenders(port: first.port, name: "fault/effect", clients: 4)
        try Poll.until("events accepted before the kill") { senders.count(status: 200) >= 100 }
        first.kill9()
        let answers = senders.stop()
        #expect(Set(answers.map(\.status)).isSubset(of: [200, -1]))

        let second = try ServeProcess(databaseURL: url, root: root, extra: ["--lease-seconds", "3"])
        defer { second.terminate() }
        try second.waitUntilListening()
        try Self.expectAcknowledgedRunOnce(answers, url: url)
    }
}
