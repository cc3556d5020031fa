import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Cron schedules fire in isolation")
struct CronIsolationTests {
    /// Regression: one schedule whose fire raised aborted the whole tick, so every schedule after it
    /// (in table order) stopped firing until the bad row was fixed by hand.
    @Test("a schedule whose fire fails records its error; the others still fire; schedules list shows it; a good fire clears it")
    func failingScheduleIsIsolated() throws {
        let h = try Harness()
        // Rows as cron.schedule stores them. 'user:a-broken' sorts first, and its data is a JSON array
        // (written by hand or by an older version: the Lua API only accepts a table with named
        // fields), so ingest_event refuses it on every fire. 'user:c-typo' holds an expression that no
        // longer parses.
        try h.conn.execScript("""
            INSERT INTO blacklight.schedules (id, expression, event_name, event_data) VALUES
              ('user:a-broken', '* * * * *', 'test/broken', '[1, 2]'),
              ('user:b-good', '* * * * *', 'test/good', '{"ok": true}'),
              ('user:c-typo', 'every minute', 'test/typo', '{}');
            """)
        let scheduler = CronScheduler(url: h.url, log: h.services.log)
        let now = Date()
        let fired = try scheduler.tick(now: now)
        #expect(fired.count == 1)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events WHERE name = 'test/good'").intValue == 1)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.events WHERE name = 'test/broken'").intValue == 0)

        let broken = try #require(try row(h, "user:a-broken"))
        let tick = try #require(CronExpression("* * * * *").previous(atOrBefore: now))
        #expect(broken["last_error"].stringValue
                == "tick \(TimeValue.iso(tick.timeIntervalSince1970)): ERROR 22023: event data must be a JSON object, got array")
        #expect(broken["last_error_at"].dateValue != nil)
        #expect(broken["last_tick"] == .null)  // not consumed: the next check tries the tick again
        let typo = try #require(try row(h, "user:c-typo"))
        #expect(typo["last_error"].stringValue?.hasPrefix("invalid cron expression 'every minute': ") == true)
        #expect(try row(h, "user:b-good")?["last_error"] == .null)

        let (status, out, err) = try RetentionTests.runCLI(["schedules", "list", "--database-url", h.url, "--dir", h.root.path])
        #expect(status == 0, "\(err)")
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.count == 6, "\(out)")
        #expect(lines[1].hasPrefix(RunFormatting.pad("a-broken", 30) + "  " + RunFormatting.pad("* * * * *", 16) + "  event test/broken"))
        let at = ISO8601DateFormatter().string(from: try #require(broken["last_error_at"].dateValue))
        #expect(lines[2] == "  last error at \(at): \(broken["last_error"].stringValue ?? "")")
        #expect(lines[3].hasPrefix("b-good  "))
        #expect(lines[4].hasPrefix("c-typo  "))
        #expect(lines[5].hasPrefix("  last error at ") && lines[5].contains("invalid cron expression 'every minute'"))

        // Fixed by hand; the next check fires the pending tick and clears the error.
        try h.conn.exec("UPDATE blacklight.schedules SET event_data = '{\"fixed\": true}' WHERE id = 'user:a-broken'")
        #expect(try scheduler.tick(now: now).count == 1)
        let fixed = try #require(try row(h, "user:a-broken"))
        #expect(fixed["last_error"] == .null && fixed["last_error_at"] == .null)
        #expect(fixed["last_tick"].dateValue == tick)
        #expect(try h.scalar("SELECT data FROM blacklight.events WHERE name = 'test/broken'").jsonText == "{\"fixed\": true}")
    }

    private func row(_ h: Harness, _ id: String) throws -> PGRow? {
        try h.conn.query("SELECT * FROM blacklight.schedules WHERE id = $1", [.text(id)]).rows.first
    }
}
