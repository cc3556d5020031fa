import Testing

@testable import LuaHost

/// A value nested `depth` tables deep. Swift releases nested values recursively, which would
/// overflow the stack at this depth: the box takes the value apart one level at a time.
final class DeepValue {
    var value: LuaValue

    init(depth: Int) {
        var value: LuaValue = "bottom"
        for _ in 0..<depth { value = .table(LuaTable(array: [value])) }
        self.value = value
    }

    deinit {
        var current = value
        value = .nil
        while case .table(let table) = current, let inner = table.array.first {
            current = inner  // the outer level is freed while `inner` still holds the next one
        }
    }
}

private final class Payload {}

@Suite("Values that cannot be passed to Lua give errors, not crashes")
struct LuaDeepValueTests {
    let tooDeep = "value nested too deeply to pass to Lua (limit 100 levels)"

    @Test("a value nested 100,000 deep returned by a host function is a Lua error, not a crash")
    func deepHostResult() throws {
        let vm = try LuaVM()
        let deep = DeepValue(depth: 100_000)
        vm.setGlobalFunction("deep_json") { _ in [deep.value] }
        let caught = try vm.load("""
            local ok, message = pcall(function() return deep_json() end)
            return ok, message
            """, chunkName: "scripts/deep.lua")
        #expect(caught == [false, .string("scripts/deep.lua:1: \(tooDeep)")])
        let error = #expect(throws: LuaError.self) {
            try vm.load("local v = deep_json()\nreturn 'unreachable'", chunkName: "scripts/deep.lua")
        }
        #expect(error?.kind == .runtime)
        #expect(error?.message == "scripts/deep.lua:1: \(tooDeep)")
        #expect(try vm.load("return 'still alive'", chunkName: "ok.lua") == ["still alive"])
    }

    @Test("a value at the depth limit crosses both ways, one level more does not")
    func depthLimitBoundary() throws {
        let vm = try LuaVM()
        let atLimit = DeepValue(depth: luaMaximumPushDepth)
        let beyond = DeepValue(depth: luaMaximumPushDepth + 1)
        vm.setGlobalFunction("at_limit") { _ in [atLimit.value] }
        vm.setGlobalFunction("beyond") { _ in [beyond.value] }
        let depth = try vm.load("""
            local v, n = at_limit(), 0
            while type(v) == "table" do v, n = v[1], n + 1 end
            return n, v, pcall(function() return beyond() end)
            """, chunkName: "scripts/deep.lua")
        #expect(depth == [.int(Int64(luaMaximumPushDepth)), "bottom", false, .string("scripts/deep.lua:3: \(tooDeep)")])
    }

    @Test("deep values passed to call, resume, setGlobalValue and as error values throw instead of crashing")
    func deepValuesThroughOtherPaths() throws {
        let vm = try LuaVM()
        let deep = DeepValue(depth: 100_000)
        let identity = try vm.load("return function(...) return ... end", chunkName: "id.lua")
        guard case .function(let function)? = identity.first else {
            Issue.record("no function")
            return
        }
        let callError = #expect(throws: LuaError.self) { try vm.call(function, [1, deep.value]) }
        #expect(callError?.kind == .host)
        #expect(callError?.message == tooDeep)

        let coroutine = vm.newCoroutine(function)
        let resumeError = #expect(throws: LuaError.self) { try coroutine.resume([deep.value]) }
        #expect(resumeError?.message == tooDeep)
        guard case .returned(let values) = try coroutine.resume(["fine"]) else {
            Issue.record("expected the coroutine to return")
            return
        }
        #expect(values == ["fine"])

        vm.setGlobalValue("config", deep.value)
        let deferred = #expect(throws: LuaError.self) { try vm.load("return 1", chunkName: "next.lua") }
        #expect(deferred?.kind == .host)
        #expect(deferred?.message == "cannot set global 'config': \(tooDeep)")
        #expect(try vm.load("return 2", chunkName: "next.lua") == [2])

        vm.setGlobalFunction("fail_deep") { _ in throw LuaError(kind: .runtime, message: "deep failure", value: deep.value) }
        let raised = try vm.load("return pcall(fail_deep)", chunkName: "scripts/deep.lua")
        #expect(raised == [false, "deep failure"])
    }

    @Test("an unregistered userdata type is a thrown host error, not a crash")
    func unregisteredUserdataType() throws {
        let vm = try LuaVM()
        let thrown = #expect(throws: LuaError.self) { try vm.makeUserdata(Payload(), type: "Missing") }
        #expect(thrown?.kind == .host)
        #expect(thrown?.message == "userdata type 'Missing' is not registered (call registerUserdataType first)")

        vm.setGlobalFunction("make") { args in [args.vm.pushableUserdata(Payload(), type: "Missing")] }
        let error = #expect(throws: LuaError.self) { try vm.load("local u = make()", chunkName: "scripts/u.lua") }
        #expect(error?.message == "scripts/u.lua:1: userdata type 'Missing' is not registered (call registerUserdataType first)")
        #expect(vm.object(of: try #require(vm.pushableUserdata(Payload(), type: "Missing").asUserdataRef)) == nil)
    }

    @Test("a LuaRef of another VM is a thrown host error, not a crash")
    func foreignRef() throws {
        let vm = try LuaVM()
        let other = try LuaVM()
        let foreign = other.makeFunction { _ in [] }
        let message = "a LuaRef can only be used with the LuaVM it came from"

        let callError = #expect(throws: LuaError.self) { try vm.call(foreign, []) }
        #expect(callError?.kind == .host)
        #expect(callError?.message == message)

        let resumeError = #expect(throws: LuaError.self) { try vm.newCoroutine(foreign).resume([]) }
        #expect(resumeError?.message == message)

        vm.setGlobalFunction("leak") { _ in [.function(foreign)] }
        let leaked = try vm.load("return pcall(function() return leak() end)", chunkName: "scripts/ref.lua")
        #expect(leaked == [false, .string("scripts/ref.lua:1: \(message)")])
        #expect(vm.object(of: foreign) == nil)
    }
}

extension LuaValue {
    fileprivate var asUserdataRef: LuaRef? {
        if case .userdata(let ref) = self { return ref }
        return nil
    }
}
