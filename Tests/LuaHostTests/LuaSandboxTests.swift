import Testing

@testable import LuaHost

@Suite("Sandbox escapes fail with a clear message")
struct LuaSandboxTests {
    func failure(_ source: String) throws -> String {
        let vm = try LuaVM()
        do {
            let results = try vm.load(source, chunkName: "scripts/escape.lua")
            return "no error: \(results)"
        } catch {
            return error.message
        }
    }

    @Test("os.execute is not available")
    func osExecute() throws {
        #expect(try failure(#"os.execute("ls")"#) == "scripts/escape.lua:1: 'os.execute' is not available in scripts")
        #expect(try failure(#"return os.getenv("HOME")"#) == "scripts/escape.lua:1: 'os.getenv' is not available in scripts")
    }

    @Test("io does not exist")
    func io() throws {
        #expect(try failure(#"io.open("/etc/passwd")"#) == "scripts/escape.lua:1: unknown global 'io'")
    }

    @Test("C modules and package.loadlib cannot be reached")
    func cModules() throws {
        #expect(try failure(#"require("socket.core")"#)
            == "scripts/escape.lua:1: module 'socket.core' not found (plugins are looked up in plugins/socket.core.lua)")
        #expect(try failure(#"package.loadlib("libc.so.6", "system")"#) == "scripts/escape.lua:1: unknown global 'package'")
    }

    @Test("binary chunks are rejected and string.dump is gone")
    func binaryChunks() throws {
        #expect(try failure("return load(string.dump(function() end))")
            == "scripts/escape.lua:1: attempt to call a nil value (field 'dump')")
        let vm = try LuaVM()
        let result = try vm.load(#"return load("\27Lua\84\0\25\147\13\10\26\10")"#, chunkName: "scripts/escape.lua")
        #expect(result == [.nil, "binary chunks are not allowed in scripts: load accepts Lua source text only"])
        // Source text loads, in a sandbox environment of its own.
        #expect(try vm.load(#"return load("return 1 + 1")()"#, chunkName: "l.lua") == [2])
        #expect(try failure(#"return load("return io")()"#) == #"[string "return io"]:1: unknown global 'io'"#)
        // The host's load rejects binary chunks too.
        let hostError = #expect(throws: LuaError.self) { try vm.load("\u{1B}Lua", chunkName: "bin.lua") }
        #expect(hostError?.message == "bin.lua: attempt to load a binary chunk (mode is 't')")
    }

    @Test("debug is not available")
    func debug() throws {
        #expect(try failure("return debug.getinfo(1)") == "scripts/escape.lua:1: unknown global 'debug'")
    }

    @Test("the string metatable cannot be changed")
    func stringMetatable() throws {
        #expect(try failure(#"getmetatable("").__index = {}"#)
            == "scripts/escape.lua:1: attempt to modify read-only table 'string metatable'")
        #expect(try failure(#"getmetatable("").__index.upper = nil"#)
            == "scripts/escape.lua:1: attempt to modify read-only table 'string'")
        #expect(try failure(#"setmetatable(getmetatable(""), {})"#) == "scripts/escape.lua:1: cannot change a protected metatable")
        // Methods on strings still work.
        #expect(try LuaVM().load(#"return ("abc"):upper(), getmetatable("").__index == string"#, chunkName: "m.lua") == ["ABC", true])
    }

    @Test("dofile and loadfile do not exist")
    func fileLoading() throws {
        #expect(try failure(#"dofile("/etc/passwd")"#) == "scripts/escape.lua:1: unknown global 'dofile'")
        #expect(try failure(#"loadfile("/etc/passwd")"#) == "scripts/escape.lua:1: unknown global 'loadfile'")
    }

    @Test("finalizers are refused: they would run with the instruction hook off")
    func finalizers() throws {
        #expect(try failure("setmetatable({}, { __gc = function() while true do end end })")
            == "scripts/escape.lua:1: __gc metamethods are not allowed in scripts")
    }

    @Test("collectgarbage is a harmless stub and print goes to the host")
    func printAndCollect() throws {
        let lines = PrintedLines()
        let vm = try LuaVM(print: { lines.append($0) })
        let result = try vm.load(#"print("a", 1, nil, true); return collectgarbage(), type(collectgarbage("count"))"#, chunkName: "p.lua")
        #expect(result == [0, "number"])
        #expect(lines.all == ["a\t1\tnil\ttrue"])
    }

    @Test("the allowed base library is there")
    func allowedBase() throws {
        let vm = try LuaVM()
        let source = """
            local names = { "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "print", "rawequal",
              "rawget", "rawlen", "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring", "type",
              "load", "require", "collectgarbage" }
            for _, n in ipairs(names) do assert(type(_ENV[n]) == "function", n) end
            assert(_VERSION == "Lua 5.4")
            return os.time{year = 2024, month = 1, day = 1, hour = 12} > 0, type(os.clock()), os.date("!%Y", 0),
              string.format("%d", 3), table.concat({1, 2}, "-"), math.floor(2.5), utf8.char(233), coroutine.isyieldable()
            """
        #expect(try vm.load(source, chunkName: "b.lua") == [true, "number", "1970", "3", "1-2", 2, "é", false])
    }
}

/// Collects printed lines from the VM's print callback.
final class PrintedLines {
    private var lines: [String] = []
    func append(_ line: String) { lines.append(line) }
    var all: [String] { lines }
}
