import Testing

@testable import LuaHost

@Suite("Coroutines driven from Swift")
struct LuaCoroutineTests {
    func function(_ vm: LuaVM, _ source: String, _ name: String = "scripts/co.lua") throws -> LuaRef {
        guard case .function(let f) = try vm.load(source, chunkName: name).first else {
            throw LuaError.host("the chunk did not return a function")
        }
        return f
    }

    func yielded(_ result: LuaCoroutine.Result) -> [LuaValue]? {
        if case .yielded(let values) = result { return values }
        return nil
    }

    @Test("coroutine.yield hands values to Swift, resume hands values back, also through pcall")
    func yieldAndResume() throws {
        let vm = try LuaVM()
        let body = try function(vm, """
            return function(a)
              local b = coroutine.yield(a + 1)
              local ok, c = pcall(function() return coroutine.yield(b * 2) end)
              return ok, c .. "!"
            end
            """)
        let co = vm.newCoroutine(body)
        guard case .yielded(let first) = try co.resume([1]) else { Issue.record("expected a yield"); return }
        #expect(first == [2])
        guard case .yielded(let second) = try co.resume([10]) else { Issue.record("expected a yield"); return }
        #expect(second == [20])
        #expect(!co.isDead)
        guard case .returned(let last) = try co.resume(["done"]) else { Issue.record("expected a return"); return }
        #expect(last == [true, "done!"])
        #expect(co.isDead)
        let dead = #expect(throws: LuaError.self) { try co.resume([]) }
        #expect(dead?.message == "cannot resume dead coroutine")
    }

    @Test("a Swift function called inside a coroutine works, and may yield with LuaYield")
    func swiftFunctionsInCoroutines() throws {
        let vm = try LuaVM()
        var journal: [String] = []
        vm.setGlobalTable("step", functions: [
            "log": { args in
                journal.append(try args.string(1, name: "step.log"))
                return [.int(Int64(journal.count))]
            },
            "wait": { args in throw LuaYield(["waiting", args[1]]) },
        ])
        let body = try function(vm, """
            return function()
              local n = step.log("start")
              local event = step.wait("order.paid")
              step.log("got " .. event.id)
              return n, event.id
            end
            """)
        let co = vm.newCoroutine(body)
        guard case .yielded(let waiting) = try co.resume([]) else { Issue.record("expected a yield"); return }
        #expect(waiting == ["waiting", "order.paid"])
        guard case .returned(let result) = try co.resume([["id": "o-17"]]) else { Issue.record("expected a return"); return }
        #expect(result == [1, "o-17"])
        #expect(journal == ["start", "got o-17"])
    }

    @Test("an error inside a coroutine comes with the coroutine's traceback")
    func errorTraceback() throws {
        let vm = try LuaVM()
        let body = try function(vm, """
            local function charge(order)
              error("card declined for " .. order)
            end
            return function(order)
              coroutine.yield("charging")
              charge(order)
            end
            """, "scripts/payments.lua")
        let co = vm.newCoroutine(body)
        _ = try co.resume(["o-1"])
        let error = #expect(throws: LuaError.self) { try co.resume([]) }
        #expect(error?.kind == .runtime)
        #expect(error?.message == "scripts/payments.lua:2: card declined for o-1")
        let traceback = try #require(error?.traceback)
        #expect(traceback.contains("scripts/payments.lua:2:"))
        #expect(traceback.contains("scripts/payments.lua:6:"))
        #expect(co.isDead)
    }

    @Test("the instruction limit applies inside coroutines")
    func limitInCoroutine() throws {
        let vm = try LuaVM(limits: .init(instructions: 1_000_000))
        let co = vm.newCoroutine(try function(vm, "return function() while true do end end"))
        let error = #expect(throws: LuaError.self) { try co.resume([]) }
        #expect(error?.kind == .instructionLimit)
        #expect(error?.message == "scripts/co.lua:1: instruction limit exceeded (budget 1000000 instructions)")
    }

    @Test("yielding outside a coroutine is an error, not a crash")
    func yieldOutside() throws {
        let vm = try LuaVM()
        vm.setGlobalFunction("pause") { _ in throw LuaYield() }
        let error = #expect(throws: LuaError.self) { try vm.load("pause()", chunkName: "scripts/y.lua") }
        #expect(error?.message == "attempt to yield from outside a coroutine")
    }

    @Test("a host function called by Lua in a coroutine can resume another coroutine")
    func nestedCoroutines() throws {
        let vm = try LuaVM()
        let inner = vm.newCoroutine(try function(vm, "return function() coroutine.yield(1) return 2 end"))
        vm.setGlobalFunction("pump") { _ in
            switch try inner.resume([]) {
            case .yielded(let v), .returned(let v): return v
            }
        }
        let outer = vm.newCoroutine(try function(vm, "return function() local a = pump(); coroutine.yield(a); return pump() end"))
        guard case .yielded(let a) = try outer.resume([]) else { Issue.record("expected a yield"); return }
        #expect(a == [1])
        guard case .returned(let b) = try outer.resume([]) else { Issue.record("expected a return"); return }
        #expect(b == [2])
    }

    @Test("a host function can yield through a script's pcall")
    func yieldThroughPcall() throws {
        let vm = try LuaVM()
        vm.setGlobalFunction("wait") { args in throw LuaYield([args[1]]) }
        let body = try function(vm, """
            return function()
              local ok, got = pcall(wait, "first")
              local ok2, err = pcall(function() wait("second"); error("after") end)
              return ok, got, ok2, err
            end
            """)
        let co = vm.newCoroutine(body)
        #expect(yielded(try co.resume([])) == ["first"])
        #expect(yielded(try co.resume(["resumed"])) == ["second"])
        guard case .returned(let result) = try co.resume([]) else { Issue.record("expected a return"); return }
        #expect(result == [true, "resumed", false, "scripts/co.lua:3: after"])
    }

    @Test("a coroutine cannot be resumed from inside itself")
    func resumeWhileRunning() throws {
        let vm = try LuaVM()
        var me: LuaCoroutine?
        vm.setGlobalFunction("again") { _ in
            _ = try me?.resume([])
            return []
        }
        let co = vm.newCoroutine(try function(vm, "return function() again() end"))
        me = co
        defer { me = nil }
        let error = #expect(throws: LuaError.self) { try co.resume([]) }
        #expect(error?.message == "scripts/co.lua:1: cannot resume non-suspended coroutine")
    }
}

