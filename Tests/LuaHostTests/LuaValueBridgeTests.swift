import Testing

@testable import LuaHost

@Suite("Values crossing the bridge")
struct LuaValueBridgeTests {
    let vm: LuaVM
    let identity: LuaRef

    init() throws {
        vm = try LuaVM()
        guard case .function(let f) = try vm.load("return function(...) return ... end", chunkName: "id.lua")[0] else {
            throw LuaError.host("expected a function")
        }
        identity = f
    }

    @Test("scalars keep their Lua types, integers and floats stay distinct")
    func scalars() throws {
        let values = try vm.load(#"return nil, true, false, 42, 125.0, 0.5, "héllo ✓", -9007199254740993"#, chunkName: "s.lua")
        #expect(values == [.nil, .bool(true), .bool(false), .int(42), .number(125.0), .number(0.5), .string("héllo ✓"), .int(-9007199254740993)])
        let roundTrip: [LuaValue] = [.nil, true, 7, 125.0, "ünïcødé 🎉", .number(-0.25), .int(Int64.max)]
        #expect(try vm.call(identity, roundTrip) == roundTrip)
    }

    @Test("a float with an integral value is still a float in Lua")
    func floatStaysFloat() throws {
        guard case .function(let f) = try vm.load("return function(x) return math.type(x), tostring(x) end", chunkName: "f.lua")[0] else {
            Issue.record("expected a function"); return
        }
        #expect(try vm.call(f, [.number(125.0)]) == ["float", "125.0"])
        #expect(try vm.call(f, [.int(125)]) == ["integer", "125"])
    }

    @Test("nested tables round trip with array and hash parts")
    func nestedTables() throws {
        let table: LuaValue = .table(LuaTable(
            array: [1, "two", 3.5, [true, false]],
            hash: [(key: "name", value: "job"), (key: "meta", value: ["score": 0.75, "tags": ["a", "b"]]), (key: 10, value: "ten")]
        ))
        let back = try vm.call(identity, [table])
        #expect(back == [table])
        let fromLua = try vm.load(#"return { 10, 20, 30, x = { y = { z = "deep" } }, [5] = "five" }"#, chunkName: "t.lua")
        guard case .table(let t) = fromLua[0] else { Issue.record("not a table"); return }
        #expect(t.array == [10, 20, 30])
        #expect(t["x"] == ["y": ["z": "deep"]])
        #expect(t.hash.contains { $0.key == 5 && $0.value == "five" })
    }

    @Test("nil holes end the sequence part; later integer keys go to the hash part")
    func holes() throws {
        let result = try vm.load("local t = {1, 2, nil, 4}; return t", chunkName: "h.lua")
        guard case .table(let t) = result[0] else { Issue.record("not a table"); return }
        #expect(t.array == [1, 2])
        #expect(t.hash.count == 1 && t.hash[0].key == 4 && t.hash[0].value == 4)
    }

    @Test("invalid UTF-8 is repaired, not dropped")
    func invalidUTF8() throws {
        let result = try vm.load(#"return "ok\255\254!""#, chunkName: "u.lua")
        #expect(result == ["ok\u{FFFD}\u{FFFD}!"])
    }

    @Test("a table that contains itself cannot be converted")
    func cycles() throws {
        let error = #expect(throws: LuaError.self) {
            try vm.load("local t = {}; t.self = t; return t", chunkName: "c.lua")
        }
        #expect(error?.message == "cannot convert a table that contains itself")
        // A table shared by two branches is not a cycle.
        let shared = try vm.load("local s = {1}; return {a = s, b = s}", chunkName: "c.lua")
        #expect(shared == [["a": [1], "b": [1]]])
    }

    @Test("tables nested deeper than 100 levels are rejected")
    func depthLimit() throws {
        let error = #expect(throws: LuaError.self) {
            try vm.load("local t = {}; for i = 1, 150 do t = {t} end; return t", chunkName: "d.lua")
        }
        #expect(error?.message == "table nesting too deep (more than 100 levels)")
    }

    @Test("coroutines cannot cross the bridge as values")
    func threads() throws {
        let error = #expect(throws: LuaError.self) {
            try vm.load("return coroutine.create(function() end)", chunkName: "co.lua")
        }
        #expect(error?.message == "cannot convert a thread value (coroutine)")
    }

    @Test("functions come back as refs that can be called and compare by identity")
    func functionRefs() throws {
        let values = try vm.load("local function f(a) return a * 2 end; return f, f", chunkName: "fn.lua")
        guard case .function(let f) = values[0], case .function(let g) = values[1] else { Issue.record("no functions"); return }
        #expect(f == g)
        #expect(try vm.call(f, [21]) == [42])
        #expect(values[0] != .function(identity))
    }

    @Test("LuaValue conveniences")
    func conveniences() {
        #expect(LuaValue.int(3).asDouble == 3.0)
        #expect(LuaValue.number(3.0).asInt == 3)
        #expect(LuaValue.number(3.5).asInt == nil)
        #expect(LuaValue.string("x").asString == "x")
        #expect(LuaValue.bool(false).asBool == false)
        #expect(LuaValue.nil.isNil)
        #expect(LuaValue.number(1).typeName == "number")
        #expect(LuaValue.table(.init()).typeName == "table")
        #expect(LuaTable.from(["b": 2, "a": 1]).hash.map(\.key) == ["a", "b"])
        // Hash order does not matter for equality.
        #expect(LuaValue.table(LuaTable(hash: [("a", 1), ("b", 2)])) == .table(LuaTable(hash: [("b", 2), ("a", 1)])))
    }
}
