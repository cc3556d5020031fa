import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("db.* from Lua")
struct DatabaseAPITests {
    @Test("NULL, booleans, integers, floats, text, timestamps, arrays and jsonb convert both ways")
    func typesConvertBothWays() throws {
        let h = try Harness(scripts: ["t.lua": """
            return workflow {
              id = "types-db",
              triggers = { { event = "test/db" } },
              run = function(ctx, step)
                return step.run("roundtrip", function()
                  db.exec([[INSERT INTO kinds (n, b, i, f, t, ts, tags, nums, doc)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)]],
                          nil, true, 42, 2.5, "it's \\"quoted\\"", ctx.now - 86400, { "a", "b c", "d,e" }, { 1, 2, 3 },
                          { skills = { "swift", "lua" }, level = 3 })
                  local r = db.one("SELECT * FROM kinds")
                  local rows = db.query("SELECT i FROM kinds WHERE i = $1 AND t = $2", 42, "it's \\"quoted\\"")
                  return {
                    n_nil = r.n == nil, b = r.b, i = r.i, i_type = math.type(r.i), f = r.f, t = r.t,
                    ts_is_time = time.is(r.ts), day_ago = (ctx.now - r.ts), tags = r.tags, nums = r.nums,
                    doc_level = r.doc.level, doc_skill = r.doc.skills[2], count = #rows,
                    missing = db.one("SELECT * FROM kinds WHERE i = -1") == nil,
                  }
                end)
              end,
            }
            """], setupSQL: """
            CREATE TABLE kinds (n text, b boolean, i bigint, f double precision, t text, ts timestamptz, tags text[],
                                nums int[], doc jsonb);
            """)
        try h.load()
        try h.send("test/db")
        try h.drain()
        let run = try h.onlyRun("types-db")
        #expect(run["status"].stringValue == "completed", "\(String(describing: h.error(run)))")
        #expect(h.output(run) == [
            "n_nil": true, "b": true, "i": 42, "i_type": "integer", "f": 2.5, "t": "it's \"quoted\"",
            "ts_is_time": true, "day_ago": 86400.0, "tags": ["a", "b c", "d,e"], "nums": [1, 2, 3],
            "doc_level": 3, "doc_skill": "lua", "count": 1, "missing": true,
        ])
    }

    @Test("db.exec returns affected rows; the DESIGN example's time arithmetic binds as a timestamp")
    func execCountsRows() throws {
        let h = try Harness(scripts: ["x.lua": """
            return workflow {
              id = "expire",
              triggers = { { event = "test/expire" } },
              run = function(ctx, step)
                return step.run("expire-jobs", function()
                  return db.exec([[UPDATE jobs SET status = 'expired'
                                   WHERE status = 'active' AND (posted_date <= $1::date OR imported_at <= $1)]],
                                 ctx.now - 30 * 86400)
                end)
              end,
            }
            """], setupSQL: """
            CREATE TABLE jobs (id int, status text, posted_date date, imported_at timestamptz);
            INSERT INTO jobs VALUES (1, 'active', current_date - 40, now()), (2, 'active', current_date, now() - interval '31 days'),
                                    (3, 'active', current_date, now()), (4, 'closed', current_date - 90, now());
            """)
        try h.load()
        try h.send("test/expire")
        try h.drain()
        #expect(h.output(try h.onlyRun("expire")) == 2)
    }

    @Test("db is refused while a script loads")
    func noDatabaseAtLoadTime() throws {
        let h = try Harness(scripts: ["l.lua": """
            local rows = db.query("SELECT 1")
            return workflow { id = "never", triggers = { { event = "x" } }, run = function() end }
            """])
        let result = try h.load()
        #expect(result.workflows.isEmpty)
        #expect(result.errors.first?.message.contains("db.query is only available while a run executes") == true)
        #expect(result.errors.first?.line == 1)
    }
}
