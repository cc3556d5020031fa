import Testing

@testable import LuaHost

final class Counter {
    var value = 0
}

@Suite("Swift functions called from Lua")
struct LuaHostFunctionTests {
    @Test("arguments arrive and multiple results return")
    func argumentsAndResults() throws {
        let vm = try LuaVM()
        vm.setGlobalTable("calc", functions: [
            "divmod": { args in
                let a = try args.int(1, name: "calc.divmod"), b = try args.int(2, name: "calc.divmod")
                return [.int(a / b), .int(a % b)]
            },
            "describe": { args in
                [.string("\(args.count):\(args[1].typeName):\(args[2].typeName):\(args[3].typeName)")]
            },
        ])
        #expect(try vm.load("local q, r = calc.divmod(17, 5); return q, r", chunkName: "c.lua") == [3, 2])
        #expect(try vm.load("return calc.describe('x', {1}, nil)", chunkName: "c.lua") == ["3:string:table:nil"])
    }

    @Test("bad arguments produce Lua-style messages with the script position")
    func argumentErrors() throws {
        let vm = try LuaVM()
        vm.setGlobalTable("db", functions: ["query": { args in [.string(try args.string(1, name: "db.query"))] }])
        let error = #expect(throws: LuaError.self) {
            try vm.load("\nlocal x = db.query(nil)", chunkName: "scripts/q.lua")
        }
        #expect(error?.kind == .runtime)
        #expect(error?.message == "scripts/q.lua:2: bad argument #1 to 'db.query' (string expected, got nil)")
        let missing = #expect(throws: LuaError.self) { try vm.load("db.query()", chunkName: "scripts/q.lua") }
        #expect(missing?.message == "scripts/q.lua:1: bad argument #1 to 'db.query' (string expected, got no value)")
    }

    @Test("a thrown Swift error is catchable by pcall with its message visible")
    func thrownErrorsAreCatchable() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "database is on fire" } }
        let vm = try LuaVM()
        vm.setGlobalFunction("explode") { _ in throw Boom() }
        let result = try vm.load("""
            local ok, err = pcall(function() explode() end)
            return ok, err
            """, chunkName: "scripts/p.lua")
        #expect(result == [false, "scripts/p.lua:1: database is on fire"])
        // Called by pcall itself there is no Lua caller to name, as with Lua's own C functions.
        #expect(try vm.load("return pcall(explode)", chunkName: "scripts/p.lua") == [false, "database is on fire"])
        let uncaught = #expect(throws: LuaError.self) { try vm.load("\n\nexplode()", chunkName: "scripts/p.lua") }
        #expect(uncaught?.message == "scripts/p.lua:3: database is on fire")
        #expect(uncaught?.traceback?.contains("scripts/p.lua:3: in main chunk") == true)
    }

    @Test("a Swift function can call back into Lua, and nested errors keep their position")
    func reentrantCalls() throws {
        let vm = try LuaVM()
        vm.setGlobalFunction("apply") { args in
            let f = try args.function(1, name: "apply")
            return try args.vm.call(f, [args[2]])
        }
        #expect(try vm.load("return apply(function(x) return x + 1 end, 41)", chunkName: "a.lua") == [42])
        let error = #expect(throws: LuaError.self) {
            try vm.load("return apply(function(x)\n error('inner boom') end, 1)", chunkName: "scripts/a.lua")
        }
        #expect(error?.message == "scripts/a.lua:2: inner boom")
    }

    @Test("error objects that are tables come back as values")
    func tableErrors() throws {
        let vm = try LuaVM()
        let error = #expect(throws: LuaError.self) {
            try vm.load("error({ code = 42, retry = false })", chunkName: "scripts/e.lua")
        }
        #expect(error?.message == "(error object is a table value)")
        #expect(error?.value == ["code": 42, "retry": false])
    }

    @Test("userdata wraps Swift objects: methods, fast-path access, identity")
    func userdata() throws {
        let vm = try LuaVM()
        vm.registerUserdataType(
            "counter",
            methods: [
                "add": { args in
                    let counter = try args.userdata(1, as: Counter.self, name: "counter:add")
                    counter.value += Int(try args.int(2, name: "counter:add"))
                    return [.int(Int64(counter.value))]
                }
            ],
            metamethods: ["__len": { args in [.int(Int64(args.userdata(1, as: Counter.self)?.value ?? -1))] }]
        )
        let counter = Counter()
        vm.setGlobalFunction("new_counter") { args in [args.vm.pushableUserdata(counter, type: "counter")] }
        let results = try vm.load("local c = new_counter(); c:add(2); c:add(3); return #c, getmetatable(c), c", chunkName: "u.lua")
        #expect(results[0] == 5)
        #expect(results[1] == "counter")
        #expect(counter.value == 5)
        guard case .userdata(let ref) = results[2] else { Issue.record("no userdata"); return }
        #expect(vm.object(of: ref) === counter)
        let wrong = #expect(throws: LuaError.self) {
            try vm.load("local c = new_counter(); c.add({}, 1)", chunkName: "u.lua")
        }
        #expect(wrong?.message == "u.lua:1: bad argument #1 to 'counter:add' (Counter expected, got table)")
    }

    @Test("collected userdata release their Swift objects")
    func userdataRelease() throws {
        weak var weakObject: Counter?
        let vm = try LuaVM()
        vm.registerUserdataType("counter", methods: [:])
        do {
            let object = Counter()
            weakObject = object
            vm.setGlobalFunction("make") { args in [args.vm.pushableUserdata(object, type: "counter")] }
        }
        _ = try vm.load("for i = 1, 3 do make() end", chunkName: "g.lua")
        vm.setGlobalFunction("make") { _ in [] }  // drop the closure's capture
        _ = try vm.loadTrusted("collectgarbage(); collectgarbage()", chunkName: "gc.lua")
        _ = try vm.load("return 1", chunkName: "drain.lua")  // releases happen at the next entry
        #expect(weakObject == nil)
    }

    @Test("a Swift function may return a huge table; the memory cap trips cleanly after it returns")
    func hugeResultTripsMemory() throws {
        let vm = try LuaVM(limits: .init(memoryBytes: 8 << 20))
        vm.setGlobalFunction("huge") { _ in
            [.table(LuaTable(array: (0..<200_000).map { .string("row \($0) with some padding to make it big") }))]
        }
        let error = #expect(throws: LuaError.self) {
            try vm.load("local ok, t = pcall(huge); return #t", chunkName: "scripts/huge.lua")
        }
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message.hasSuffix("memory limit exceeded (cap 8 MiB)") == true)
        vm.resetLimits()
        #expect(try vm.load("return 1 + 1", chunkName: "after.lua") == [2])
        #expect(vm.memoryInUse < 8 << 20)
    }

    @Test("recursion through Swift and Lua ends in a C stack overflow error, not a crash")
    func recursionThroughSwift() throws {
        let vm = try LuaVM()
        vm.setGlobalFunction("apply") { args in
            try args.vm.call(try args.function(1, name: "apply"), [args[2]])
        }
        let error = #expect(throws: LuaError.self) {
            try vm.load("local function r(n) return apply(r, n + 1) end\nlocal x = r(1)", chunkName: "scripts/r.lua")
        }
        #expect(error?.kind == .runtime)
        #expect(error?.message.contains("stack overflow") == true)
        #expect(try vm.load("return 'ok'", chunkName: "ok.lua") == ["ok"])
    }

    @Test("a LuaError with a value is raised as that value")
    func structuredHostErrors() throws {
        let vm = try LuaVM()
        vm.setGlobalFunction("fail") { _ in
            throw LuaError(kind: .host, message: "not retriable", value: ["retriable": false, "message": "card declined"])
        }
        let result = try vm.load("local ok, e = pcall(fail); return ok, e.retriable, e.message", chunkName: "f.lua")
        #expect(result == [false, false, "card declined"])
    }

    @Test("replacing host functions frees the old slots once Lua collects them")
    func slotsAreReused() throws {
        let vm = try LuaVM()
        for round in 0..<50 {
            vm.setGlobalTable("ctx", functions: ["a": { _ in [.int(Int64(round))] }, "b": { _ in [] }])
            _ = try vm.loadTrusted("collectgarbage()", chunkName: "gc.lua")
        }
        #expect(vm.functions.count < 20)
        #expect(try vm.load("return ctx.a()", chunkName: "c.lua") == [49])
    }

    @Test("dropped refs are released on the VM's next entry, from whichever thread dropped them")
    func refsReleased() async throws {
        let vm = try LuaVM()
        let values = try vm.load("return function() end, function() end", chunkName: "r.lua")
        #expect(!vm.owner.hasPending)
        // The last copy dies on another thread.
        await Task.detached { [values] in #expect(values.count == 2) }.value
        _ = consume values
        #expect(vm.owner.hasPending)
        _ = try vm.load("return 1", chunkName: "r.lua")
        #expect(!vm.owner.hasPending)
    }
}

