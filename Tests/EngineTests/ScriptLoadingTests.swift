import BlacklightCore
import Foundation
import PGStore
import Testing
import TestSupport
@testable import Engine

@Suite("Loading scripts")
struct ScriptLoadingTests {
    static let good = """
        return workflow {
          id = "good",
          name = "Good One",
          triggers = { { event = "test/good" }, { cron = "*/15 * * * *" } },
          run = function(ctx, step) return require("weights").skills end,
        }
        """

    @Test("a broken script is reported with file and line and the others still load")
    func brokenBesideGood() throws {
        let h = try Harness(scripts: [
            "good.lua": Self.good,
            "syntax.lua": "return workflow {\n  id = 'bad',\n  run = function( end\n}\n",
            "cron.lua": """
                return workflow {
                  id = "bad-cron",
                  triggers = { { cron = "61 * * * *" } },
                  run = function() end,
                }
                """,
            "typo.lua": "return workflow { id = 'typo', retires = 3, triggers = { { event = 'x' } }, run = function() end }",
            "noreturn.lua": "workflow { id = 'lost', triggers = { { event = 'x' } }, run = function() end }",
        ], plugins: ["weights": "return { skills = 0.4 }"])
        let result = try h.load()
        #expect(result.workflows.map(\.definition.id) == ["good"])
        let errors = Dictionary(uniqueKeysWithValues: result.errors.map { ($0.file, $0) })
        #expect(errors["scripts/syntax.lua"]?.line == 3)
        #expect(errors["scripts/syntax.lua"]?.message.contains("expected near 'end'") == true, "\(String(describing: errors["scripts/syntax.lua"]))")
        #expect(errors["scripts/cron.lua"]?.line == 1)
        #expect(errors["scripts/cron.lua"]?.message == "workflow 'bad-cron': trigger #1: invalid cron expression \"61 * * * *\": minute value 61 out of range 0-59")
        #expect(errors["scripts/typo.lua"]?.message.contains("unknown workflow field 'retires'") == true)
        #expect(errors["scripts/noreturn.lua"]?.message.contains("must `return workflow") == true)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.load_errors").intValue == 4)
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'good'").stringValue?.count == 16)
        #expect(try h.scalar("SELECT expression FROM blacklight.schedules WHERE function_id = 'good'").stringValue == "*/15 * * * *")
        try h.send("test/good")
        try h.drain()
        let good = try h.onlyRun("good")
        #expect(h.output(good) == 0.4, "\(String(describing: h.error(good)))")
    }

    @Test("a script that breaks later keeps its last good version active; deleting a script retires it")
    func lastGoodVersionStays() throws {
        let h = try Harness(scripts: ["good.lua": Self.good], plugins: ["weights": "return { skills = 0.4 }"])
        try h.load()
        let version = try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'good'").stringValue
        try h.write(script: "good.lua", "return workflow {")
        let broken = try h.load()
        #expect(broken.errors.count == 1)
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'good'").stringValue == version)
        try FileManager.default.removeItem(at: h.root.appendingPathComponent("scripts/good.lua"))
        try h.load()
        #expect(try h.scalar("SELECT active_version FROM blacklight.functions WHERE id = 'good'") == .null)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.triggers").intValue == 0)
        #expect(try h.scalar("SELECT count(*) FROM blacklight.schedules").intValue == 0)
    }

    @Test("two scripts with one workflow id: the second is refused")
    func duplicateIDs() throws {
        let h = try Harness(scripts: ["a.lua": Self.good, "b.lua": Self.good], plugins: ["weights": "return {}"])
        let result = try h.load()
        #expect(result.workflows.count == 1)
        #expect(result.errors.first?.message == "workflow id 'good' is already declared by scripts/a.lua")
    }

    @Test("runs finish on the version they started on")
    func runsArePinned() throws {
        let h = try Harness(scripts: ["v.lua": """
            return workflow { id = "v", triggers = { { event = "test/v" } },
              run = function(ctx, step) step.sleep("s", 0.2) return "one" end }
            """])
        try h.load()
        try h.send("test/v")
        try h.drain()
        try h.write(script: "v.lua", """
            return workflow { id = "v", triggers = { { event = "test/v" } },
              run = function(ctx, step) step.sleep("s", 0.2) return "two" end }
            """)
        try h.load()
        try h.send("test/v")
        try h.drain(until: 5) { try h.runs(function: "v").allSatisfy { $0["status"].stringValue == "completed" } }
        let outputs = try h.runs(function: "v").map { h.output($0) }
        #expect(outputs == ["one", "two"])
        #expect(Set(try h.runs(function: "v").map { $0["version"].stringValue }).count == 2)
    }
}
