import Testing

@testable import LuaHost

@Suite("Errors name the script and line")
struct LuaErrorTests {
    @Test("a syntax error names the chunk and line")
    func syntaxError() throws {
        let vm = try LuaVM()
        let error = #expect(throws: LuaError.self) {
            try vm.load("local a = 1\nlocal b = 2\nlocal c = = 3\n", chunkName: "scripts/broken.lua")
        }
        #expect(error?.kind == .syntax)
        #expect(error?.message == "scripts/broken.lua:3: unexpected symbol near '='")
        #expect(error?.traceback == nil)
    }

    @Test("a runtime error carries message and a traceback naming file:line")
    func runtimeError() throws {
        let vm = try LuaVM()
        let source = """
            local function fetch(row)
              return row.id
            end
            local function run()
              local id = fetch(nil)
              return id
            end
            local result = run()
            return result
            """
        let error = #expect(throws: LuaError.self) { try vm.load(source, chunkName: "scripts/expire_old_jobs.lua") }
        #expect(error?.kind == .runtime)
        #expect(error?.message == "scripts/expire_old_jobs.lua:2: attempt to index a nil value (local 'row')")
        let traceback = try #require(error?.traceback)
        #expect(traceback.hasPrefix("stack traceback:"))
        #expect(traceback.contains("scripts/expire_old_jobs.lua:2: in upvalue 'fetch'"))
        #expect(traceback.contains("scripts/expire_old_jobs.lua:5: in local 'run'"))
        #expect(traceback.contains("scripts/expire_old_jobs.lua:8: in main chunk"))
        #expect(error?.description.contains("\nstack traceback:") == true)
    }

    @Test("reading an unknown global is an error")
    func unknownGlobal() throws {
        let vm = try LuaVM()
        let error = #expect(throws: LuaError.self) { try vm.load("local x = 1\nreturn foo", chunkName: "scripts/g.lua") }
        #expect(error?.message == "scripts/g.lua:2: unknown global 'foo'")
    }

    @Test("assigning a global is an error; locals are fine")
    func globalAssignment() throws {
        let vm = try LuaVM()
        let error = #expect(throws: LuaError.self) { try vm.load("x = 1", chunkName: "scripts/g.lua") }
        #expect(error?.message == "scripts/g.lua:1: assignment to undeclared global 'x'")
        #expect(try vm.load("local x = 1; x = x + 1; return x", chunkName: "scripts/g.lua") == [2])
    }

    @Test("each chunk gets its own environment")
    func separateEnvironments() throws {
        let vm = try LuaVM()
        _ = try vm.load("rawset(_ENV, 'mine', 1)", chunkName: "a.lua")
        let error = #expect(throws: LuaError.self) { try vm.load("return mine", chunkName: "b.lua") }
        #expect(error?.message == "b.lua:1: unknown global 'mine'")
    }

    @Test("host tables are read-only, including nested ones and through rawset")
    func readOnlyHostTables() throws {
        let vm = try LuaVM()
        vm.setGlobalTable("db", functions: ["query": { _ in [] }], values: ["limits": ["rows": 10], "name": "main"])
        let cases: [(String, String)] = [
            ("db.query = nil", "s.lua:1: attempt to modify read-only table 'db'"),
            ("db.limits.rows = 1", "s.lua:1: attempt to modify read-only table 'db.limits'"),
            ("rawset(db, 'query', print)", "s.lua:1: attempt to modify read-only table 'db'"),
            ("table.insert(db.limits, 1)", "attempt to modify read-only table 'db.limits'"),
            ("setmetatable(db, {})", "s.lua:1: cannot change a protected metatable"),
            ("string.format = nil", "s.lua:1: attempt to modify read-only table 'string'"),
            ("db = {}", "s.lua:1: assignment to undeclared global 'db'"),
        ]
        for (source, expected) in cases {
            let error = #expect(throws: LuaError.self, "\(source)") { try vm.load(source, chunkName: "s.lua") }
            #expect(error?.message.hasSuffix(expected) == true, "\(source): \(error?.message ?? "no error")")
        }
        // Reading, iterating and converting still work.
        let read = try vm.load("""
            local keys = {}
            for k in pairs(db) do keys[#keys + 1] = k end
            table.sort(keys)
            return db.name, db.limits.rows, table.concat(keys, ","), db.limits
            """, chunkName: "r.lua")
        #expect(read == ["main", 10, "limits,name,query", ["rows": 10]])
    }
}
