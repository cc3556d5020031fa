import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Retention (prune)")
struct RetentionTests {
    static let script = """
        return workflow {
          id = "a",
          triggers = { { event = "test/r" } },
          run = function(ctx, step)
            log.info("working on " .. ctx.event.data.n)
            return step.run("one", function() return ctx.event.data.n end)
          end,
        }
        """

    /// A history with something of every kind retention deletes or must keep, 30 days being the cutoff:
    /// two runs ended 40 days ago (one pinned to an old version), one ended a day ago, live runs created
    /// 35 days ago (so events from then on stay: a wait looks for events since its run's creation),
    /// a failed run whose on_failure handler is still queued, old and fresh dedupe ids and idempotency keys.
    struct History {
        let h: Harness
        let oldRuns: [String]
        let recentRun: String
        let failedParent: String
        let liveRuns: [String]
        let events: [String: String]
        let activeVersion: String

        init() throws {
            let h = try Harness(scripts: ["a.lua": RetentionTests.script])
            self.h = h
            try h.load()
            let sent = try (1...3).map { try h.send("test/r", ["n": .int(Int64($0))]) }
            try h.drain()
            let runs = try h.runs(function: "a")
            try #require(runs.count == 3 && runs.allSatisfy { $0["status"].stringValue == "completed" })
            let ids = runs.compactMap { $0["id"].stringValue }
            let oldRuns = Array(ids.prefix(2))
            self.oldRuns = oldRuns
            recentRun = ids[2]
            let activeVersion = try #require(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'a'").stringValue)
            self.activeVersion = activeVersion
            let c = h.conn
            try c.exec("""
                UPDATE blacklight.runs SET created_at = now() - interval '41 days', ended_at = now() - interval '40 days'
                WHERE id = ANY($1::text[])
                """, [.array(oldRuns.map { .text($0) })])
            try c.exec("UPDATE blacklight.runs SET ended_at = now() - interval '1 day' WHERE id = $1", [.text(recentRun)])
            try c.exec("UPDATE blacklight.events SET received_at = now() - interval '41 days' WHERE id = ANY($1::text[])",
                       [.array(sent.prefix(2).map { .text($0) })])
            try c.exec("UPDATE blacklight.function_versions SET created_at = now() - interval '90 days'")
            try c.execScript("""
                INSERT INTO blacklight.function_versions (function_id, hash, file, source, config, created_at) VALUES
                  ('a', 'v-unpinned', 'scripts/a.lua', '-- old', '{}', now() - interval '40 days'),
                  ('a', 'v-ended-only', 'scripts/a.lua', '-- old', '{}', now() - interval '40 days'),
                  ('a', 'v-live', 'scripts/a.lua', '-- old', '{}', now() - interval '40 days'),
                  ('a', 'v-recent', 'scripts/a.lua', '-- new', '{}', now() - interval '2 days');
                INSERT INTO blacklight.event_ids (external_id, event_id, received_at) VALUES
                  ('x-expired', 'gone', now() - interval '25 hours'), ('x-fresh', 'kept', now() - interval '1 hour');
                INSERT INTO blacklight.idempotency (function_id, key, run_id, created_at) VALUES
                  ('a', 'k-expired', 'r', now() - interval '25 hours'), ('a', 'k-fresh', 'r', now());
                """)
            try c.exec("UPDATE blacklight.runs SET version = 'v-ended-only' WHERE id = $1", [.text(oldRuns[1])])
            var events: [String: String] = ["old-ended-1": sent[0], "old-ended-2": sent[1], "recent": sent[2]]
            for (name, age) in [("old-unreferenced", "50 days"), ("old-live", "50 days"), ("wait-window", "33 days")] {
                events[name] = try c.query("""
                    INSERT INTO blacklight.events (id, name, data, ts, received_at)
                    VALUES (blacklight.ulid(), 'test/other', '{}', now(), now() - $1::interval) RETURNING id
                    """, [.text(age)]).scalar.stringValue
            }
            self.events = events
            func insertRun(status: String, version: String, event: String? = nil, ended: String? = nil,
                           kind: String = "run", parent: String? = nil) throws -> String {
                try c.query("""
                    INSERT INTO blacklight.runs (id, function_id, version, kind, parent_run_id, event_id, status, max_attempts,
                                                 run_at, created_at, ended_at)
                    VALUES (blacklight.ulid(), 'a', $1, $2, $3, $4, $5, 1, now() + interval '1 hour',
                            now() - interval '35 days', now() - $6::interval)
                    RETURNING id
                    """, [.text(version), .text(kind), parent.map { .text($0) } ?? .null, event.map { .text($0) } ?? .null,
                          .text(status), ended.map { .text($0) } ?? .null]).scalar.stringValue ?? ""
            }
            var live = [try insertRun(status: "waiting", version: activeVersion, event: events["old-live"])]
            for status in ["queued", "running", "sleeping"] {
                live.append(try insertRun(status: status, version: status == "queued" ? "v-live" : activeVersion))
            }
            failedParent = try insertRun(status: "failed", version: activeVersion, ended: "40 days")
            live.append(try insertRun(status: "queued", version: activeVersion, kind: "on_failure", parent: failedParent))
            liveRuns = live
        }

        func count(_ sql: String, _ params: [PGValue] = []) throws -> Int { Int(try h.scalar(sql, params).intValue ?? -1) }
        func ids(_ sql: String) throws -> Set<String> { Set(try h.conn.query(sql).rows.compactMap { $0[0].stringValue }) }
    }

    /// Deletes: old ended runs with their steps and logs, unreferenced old events, expired dedupe ids and keys, unpinned
    /// old versions. Keeps: live runs, recent runs, a failed run whose on_failure is queued, events a live run references
    /// or a wait could still match, the active version and versions pinned by remaining runs.
    @Test("prune deletes exactly the expired rows of every table and keeps whatever is live, recent, referenced or pinned")
    func pruneDeletesExactlyTheExpired() throws {
        let x = try History()
        let oldIDs: [PGValue] = [.array(x.oldRuns.map { .text($0) })]
        let steps = try x.count("SELECT count(*) FROM blacklight.steps WHERE run_id = ANY($1::text[])", oldIDs)
        let logs = try x.count("SELECT count(*) FROM blacklight.run_logs WHERE run_id = ANY($1::text[])", oldIDs)
        #expect(steps == 2 && logs == 2)

        var expected = PruneCounts()
        expected.runs = 2
        expected.steps = steps
        expected.logs = logs
        expected.events = 3
        expected.eventIDs = 1
        expected.idempotencyKeys = 1
        expected.versions = 2
        #expect(try Pruner().dryRun(olderThan: RetentionPolicy.defaultSeconds, conn: x.h.conn) == expected)
        #expect(try x.count("SELECT count(*) FROM blacklight.runs") == 9)

        #expect(try Pruner().prune(olderThan: RetentionPolicy.defaultSeconds, conn: x.h.conn) == expected)

        #expect(try x.ids("SELECT id FROM blacklight.runs") == Set(x.liveRuns + [x.recentRun, x.failedParent]))
        #expect(try x.count("SELECT count(*) FROM blacklight.steps WHERE run_id = ANY($1::text[])", oldIDs) == 0)
        #expect(try x.count("SELECT count(*) FROM blacklight.run_logs WHERE run_id = ANY($1::text[])", oldIDs) == 0)
        #expect(try x.count("SELECT count(*) FROM blacklight.steps WHERE run_id = $1", [.text(x.recentRun)]) == 1)
        let keptEvents = Set(["recent", "old-live", "wait-window"].compactMap { x.events[$0] })
        #expect(try x.ids("SELECT id FROM blacklight.events") == keptEvents)
        #expect(try x.ids("SELECT external_id FROM blacklight.event_ids") == ["x-fresh"])
        #expect(try x.ids("SELECT key FROM blacklight.idempotency") == ["k-fresh"])
        #expect(try x.ids("SELECT hash FROM blacklight.function_versions") == [x.activeVersion, "v-live", "v-recent"])

        #expect(try Pruner().prune(olderThan: RetentionPolicy.defaultSeconds, conn: x.h.conn) == PruneCounts())
    }

    @Test("chunks smaller than the history delete all of it, one short transaction at a time")
    func smallChunks() throws {
        let h = try Harness(scripts: ["a.lua": Self.script])
        try h.load()
        _ = try EventStore().send((0..<25).map { EventStore.Event(name: "test/r", data: ["n": .int(Int64($0))]) }, conn: h.conn)
        try h.drain()
        try h.conn.execScript("""
            UPDATE blacklight.runs SET ended_at = now() - interval '31 days';
            UPDATE blacklight.events SET received_at = now() - interval '31 days';
            """)
        var pruner = Pruner()
        pruner.runChunk = 4
        pruner.rowChunk = 3
        let counts = try pruner.prune(olderThan: RetentionPolicy.defaultSeconds, conn: h.conn)
        #expect(counts.runs == 25 && counts.steps == 25 && counts.logs == 25 && counts.events == 25)
        #expect(try h.scalar("SELECT (SELECT count(*) FROM blacklight.runs) + (SELECT count(*) FROM blacklight.events)").intValue == 0)
    }

    @Test("blacklight prune --dry-run prints the counts per table and deletes nothing; prune then deletes exactly those")
    func cliDryRunThenPrune() throws {
        let x = try History()
        let common = ["--database-url", x.h.url, "--dir", x.h.root.path, "--older-than", "30d"]
        let table = """
            runs              2
            steps             2
            run_logs          2
            waits             0
            events            3
            event_ids         1
            idempotency       1
            function_versions 2
            """
        let (status, out, err) = try Self.runCLI(["prune", "--dry-run"] + common)
        #expect(status == 0, "\(out)\(err)")
        var lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("dry run: older than 30d (before ") == true)
        #expect(lines.dropFirst().joined(separator: "\n") == table + "\nnothing was deleted\n")
        #expect(try x.count("SELECT count(*) FROM blacklight.runs") == 9)
        #expect(try x.count("SELECT count(*) FROM blacklight.events") == 6)
        #expect(try x.count("SELECT count(*) FROM blacklight.function_versions") == 5)

        let (status2, out2, err2) = try Self.runCLI(["prune"] + common)
        #expect(status2 == 0, "\(out2)\(err2)")
        lines = out2.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("deleted (older than 30d, before ") == true)
        #expect(lines.dropFirst().prefix(8).joined(separator: "\n") == table)
        #expect(lines.dropFirst(9).first?.hasPrefix("13 rows in ") == true)
        #expect(try x.count("SELECT count(*) FROM blacklight.runs") == 7)
    }

    @Test("a retention under an hour or in an unknown unit is refused; off disables it")
    func retentionSetting() throws {
        #expect(try RetentionPolicy.parse(nil) == 30 * 86_400)
        #expect(try RetentionPolicy.parse("14d") == 14 * 86_400)
        #expect(try RetentionPolicy.parse("off") == nil)
        #expect(throws: EngineError.self) { try RetentionPolicy.parse("10m") }
        #expect(throws: EngineError.self) { try RetentionPolicy.parse("30 days later") }
    }

    /// Exit status, standard output, standard error.
    static func runCLI(_ args: [String]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = Harness.executable
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }
}
