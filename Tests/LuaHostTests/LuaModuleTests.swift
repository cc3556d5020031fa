import Testing

@testable import LuaHost

@Suite("require and trusted code")
struct LuaModuleTests {
    @Test("require loads a plugin through moduleSource once and caches it")
    func requirePlugin() throws {
        var lookups: [String] = []
        let vm = try LuaVM(moduleSource: { name in
            lookups.append(name)
            guard name == "weights" else { return nil }
            return ("local M = { skill = 0.4 }\nfunction M.total() return M.skill + 0.6 end\nreturn M", "plugins/weights.lua")
        })
        let result = try vm.load("""
            local a = require("weights")
            local b = require("weights")
            return rawequal(a, b), a.total()
            """, chunkName: "scripts/match.lua")
        #expect(result == [true, 1.0])
        #expect(lookups == ["weights"])
        let error = #expect(throws: LuaError.self) { try vm.load("require('nope')", chunkName: "scripts/match.lua") }
        #expect(error?.message == "scripts/match.lua:1: module 'nope' not found (plugins are looked up in plugins/nope.lua)")
        // In tail position too, the error names the caller's line.
        let tail = #expect(throws: LuaError.self) { try vm.load("\nreturn require('nope')", chunkName: "scripts/match.lua") }
        #expect(tail?.message == "scripts/match.lua:2: module 'nope' not found (plugins are looked up in plugins/nope.lua)")
    }

    @Test("errors inside a plugin name the plugin file, and a failed plugin can be retried")
    func pluginErrors() throws {
        var attempts = 0
        let vm = try LuaVM(moduleSource: { name in
            attempts += 1
            return attempts == 1 ? ("local x = nil\nreturn x.y", "plugins/\(name).lua") : ("return 7", "plugins/\(name).lua")
        })
        let error = #expect(throws: LuaError.self) { try vm.load("local m = require('flaky')", chunkName: "scripts/s.lua") }
        #expect(error?.message == "plugins/flaky.lua:2: attempt to index a nil value (local 'x')")
        #expect(error?.traceback?.contains("scripts/s.lua:1: in main chunk") == true)
        #expect(try vm.load("return require('flaky')", chunkName: "scripts/s.lua") == [7])
        let syntax = try LuaVM(moduleSource: { _ in ("return +", "plugins/bad.lua") })
        let syntaxError = #expect(throws: LuaError.self) { try syntax.load("require('bad')", chunkName: "scripts/s.lua") }
        #expect(syntaxError?.message == "plugins/bad.lua:1: unexpected symbol near '+'")
    }

    @Test("plugins run in the sandbox")
    func pluginsAreSandboxed() throws {
        let vm = try LuaVM(moduleSource: { _ in ("return io", "plugins/evil.lua") })
        let error = #expect(throws: LuaError.self) { try vm.load("require('evil')", chunkName: "scripts/s.lua") }
        #expect(error?.message == "plugins/evil.lua:1: unknown global 'io'")
    }

    @Test("trusted code can use debug.traceback and expose a function to scripts")
    func trustedPrelude() throws {
        let vm = try LuaVM()
        let exported = try vm.loadTrusted("""
            local function trace(message) return debug.traceback(message, 2) end
            return { trace = trace }
            """, chunkName: "=[engine prelude]")
        guard case .table(let helpers) = exported.first, let trace = helpers["trace"] else {
            Issue.record("expected a table with trace"); return
        }
        vm.setGlobalTable("util", functions: [:], values: ["trace": trace])
        let result = try vm.load("local text = util.trace('here')\nreturn text", chunkName: "scripts/t.lua")
        let text = try #require(result.first?.asString)
        #expect(text.hasPrefix("here\nstack traceback:"))
        #expect(text.contains("scripts/t.lua:1: in main chunk"))
        // Scripts still cannot reach debug themselves.
        let error = #expect(throws: LuaError.self) { try vm.load("return debug", chunkName: "scripts/t.lua") }
        #expect(error?.message == "scripts/t.lua:1: unknown global 'debug'")
    }
}
