import Foundation
import Testing

@testable import LuaHost

@Suite("Instruction and memory limits")
struct LuaLimitsTests {
    /// Loads `source` expecting a failure. (How fast limits stop scripts is measured outside unit tests.)
    func failure(_ vm: LuaVM, _ source: String) -> LuaError? {
        #expect(throws: LuaError.self) { try vm.load(source, chunkName: "scripts/bomb.lua") }
    }

    @Test("a runaway loop is stopped by the instruction limit")
    func runawayLoop() throws {
        let vm = try LuaVM()
        let error = failure(vm, "local n = 0\nwhile true do n = n + 1 end")
        #expect(error?.kind == .instructionLimit)
        #expect(error?.message == "scripts/bomb.lua:2: instruction limit exceeded (budget 50000000 instructions)")
        #expect(error?.traceback?.contains("scripts/bomb.lua:2: in main chunk") == true)
    }

    @Test("pcall cannot swallow the instruction limit: it stays tripped until reset")
    func pcallCannotSwallow() throws {
        let vm = try LuaVM(limits: .init(instructions: 2_000_000))
        let error = failure(vm, "while true do pcall(function() while true do end end) end")
        #expect(error?.kind == .instructionLimit)
        #expect(error?.message.hasSuffix("instruction limit exceeded (budget 2000000 instructions)") == true)
        // Still tripped: even a trivial call fails until the host resets.
        let again = #expect(throws: LuaError.self) { try vm.load("local t = {} for i = 1, 2000 do t[i] = i end", chunkName: "next.lua") }
        #expect(again?.kind == .instructionLimit)
        vm.resetLimits()
        #expect(try vm.load("return 'fresh'", chunkName: "next.lua") == ["fresh"])
    }

    @Test("a script that catches the limit and returns normally still fails")
    func swallowedThenReturned() throws {
        let vm = try LuaVM(limits: .init(instructions: 100_000))
        let error = failure(vm, "local ok = pcall(function() while true do end end); return ok")
        #expect(error?.kind == .instructionLimit)
    }

    @Test("setInstructionBudget gives the next work a fresh budget")
    func budgetReset() throws {
        let vm = try LuaVM()
        vm.setInstructionBudget(10_000)
        let error = failure(vm, "for i = 1, 1e6 do end")
        #expect(error?.message == "scripts/bomb.lua:1: instruction limit exceeded (budget 10000 instructions)")
        vm.setInstructionBudget(10_000_000)
        #expect(try vm.load("local n = 0 for i = 1, 1e5 do n = n + 1 end return n", chunkName: "ok.lua") == [100_000])
    }

    @Test("a memory bomb is stopped with the memory message and the VM is usable after resetLimits")
    func memoryBomb() throws {
        let vm = try LuaVM()
        let error = failure(vm, #"local t = {} for i=1,1e9 do t[i] = string.rep("x", 1000) .. i end"#)
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message.hasSuffix("memory limit exceeded (cap 64 MiB)") == true)
        vm.resetLimits()
        #expect(vm.memoryInUse < 4 << 20)
        #expect(try vm.load("local t = {} for i = 1, 1000 do t[i] = i end return #t", chunkName: "after.lua") == [1000])
    }

    @Test("pcall cannot swallow the memory limit")
    func memoryPcall() throws {
        let vm = try LuaVM(limits: .init(memoryBytes: 16 << 20))
        let error = failure(vm, """
            while true do
              pcall(function() local t = {} for i = 1, 1e9 do t[i] = {} end end)
            end
            """)
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message.hasSuffix("memory limit exceeded (cap 16 MiB)") == true)
    }

    @Test("string.rep bombs are stopped: Lua refuses 10 GB outright, 1 GB trips the cap")
    func hugeStringRep() throws {
        let vm = try LuaVM()
        let tooLarge = failure(vm, #"local s = string.rep("x", 1e10)"#)
        #expect(tooLarge?.message == "scripts/bomb.lua:1: resulting string too large")
        let error = failure(vm, #"local s = string.rep("x", 1e9)"#)
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message == "memory limit exceeded (cap 64 MiB)")
        vm.resetLimits()
        #expect(try vm.load("return #string.rep('ab', 10)", chunkName: "ok.lua") == [20])
    }

    @Test("concatenation bombs are stopped")
    func concatBomb() throws {
        let vm = try LuaVM(limits: .init(memoryBytes: 16 << 20))
        let error = failure(vm, #"local s = "x" while true do s = s .. s end"#)
        #expect(error?.kind == .memoryLimit)
    }

    @Test("deep recursion stops cleanly with a stack overflow")
    func deepRecursion() throws {
        let vm = try LuaVM()
        let error = failure(vm, "local function f(n) return f(n + 1) + 1 end\nreturn f(1)")
        #expect(error?.kind == .runtime)
        #expect(error?.message.hasPrefix("scripts/bomb.lua:1: stack overflow") == true)
        #expect(try vm.load("return 'still alive'", chunkName: "ok.lua") == ["still alive"])
    }

    @Test("the memory in use is reported")
    func memoryInUse() throws {
        let vm = try LuaVM()
        let before = vm.memoryInUse
        _ = try vm.loadTrusted("big = string.rep('x', 1 << 20)", chunkName: "m.lua")
        #expect(vm.memoryInUse > before + (1 << 19))
    }

    @Test("a limit tripped in Lua called by a Swift function that swallows the error still stops the script")
    func limitInsideNestedCall() throws {
        let vm = try LuaVM(limits: .init(memoryBytes: 16 << 20))
        vm.setGlobalFunction("try_quietly") { args in
            _ = try? args.vm.call(try args.function(1, name: "try_quietly"), [])
            return ["swallowed"]
        }
        let body = try vm.load("""
            return function()
              local r = try_quietly(function() local t = {} for i = 1, 1e9 do t[i] = {} end end)
              return r
            end
            """, chunkName: "scripts/nested.lua")
        guard case .function(let f) = body.first else { Issue.record("no function"); return }
        let co = vm.newCoroutine(f)
        let error = #expect(throws: LuaError.self) { try co.resume([]) }
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message == "scripts/nested.lua:2: memory limit exceeded (cap 16 MiB)")
        vm.resetLimits()
        vm.setInstructionBudget(1_000_000)
        let again = #expect(throws: LuaError.self) {
            try vm.load("local r = try_quietly(function() while true do end end) return r", chunkName: "scripts/nested.lua")
        }
        #expect(again?.message == "scripts/nested.lua:1: instruction limit exceeded (budget 1000000 instructions)")
    }

    @Test("limits stop bombs inside coroutines the script created itself")
    func limitsInScriptCoroutines() throws {
        let vm = try LuaVM(limits: .init(memoryBytes: 16 << 20, instructions: 1_000_000))
        let spin = failure(vm, """
            local co = coroutine.wrap(function() while true do end end)
            local ok = pcall(co)
            while true do end
            """)
        #expect(spin?.kind == .instructionLimit)
        vm.resetLimits()
        let bomb = failure(vm, """
            local co = coroutine.create(function() local s = "x" while true do s = s .. s end end)
            print(coroutine.resume(co))
            return "survived"
            """)
        #expect(bomb?.kind == .memoryLimit)
    }
}

