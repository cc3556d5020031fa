import Testing

@testable import LuaHost

/// A find that backtracks for hours inside one C call in Lua's own matcher.
private let pathologicalFind = #"string.find(string.rep("a", 5000), ".-.-.-.-b")"#

@Suite("Time limit, and limits inside the pattern functions")
struct LuaTimeLimitTests {
    /// A VM whose instruction budget cannot run out, so only the time limit can stop a script.
    func timeOnlyVM(seconds: Double) throws -> LuaVM {
        let vm = try LuaVM(limits: .init(instructions: Int(Int64.max / 2)))
        vm.setTimeLimit(seconds)
        return vm
    }

    func failure(_ vm: LuaVM, _ source: String) -> LuaError? {
        #expect(throws: LuaError.self) { try vm.load(source, chunkName: "scripts/slow.lua") }
    }

    @Test("a pathological string.find is stopped by a 0.5 s time limit")
    func pathologicalFindStoppedByTime() throws {
        let vm = try timeOnlyVM(seconds: 0.5)
        let error = failure(vm, "return " + pathologicalFind)
        #expect(error?.kind == .timeLimit)
        #expect(error?.message == "scripts/slow.lua:1: time limit exceeded (0.5 s)")
        #expect(error?.traceback?.contains("scripts/slow.lua:1: in main chunk") == true)
    }

    @Test("a pathological string.find is stopped by the instruction budget alone")
    func pathologicalFindStoppedByBudget() throws {
        let vm = try LuaVM(limits: .init(instructions: 5_000_000))
        let error = failure(vm, "return " + pathologicalFind)
        #expect(error?.kind == .instructionLimit)
        #expect(error?.message == "scripts/slow.lua:1: instruction limit exceeded (budget 5000000 instructions)")
    }

    @Test("pcall around a pathological find does not swallow the trip")
    func pcallDoesNotSwallowPatternTrip() throws {
        let vm = try timeOnlyVM(seconds: 0.3)
        let error = failure(vm, """
            local ok, message = pcall(function() return \(pathologicalFind) end)
            return "survived", ok, message
            """)
        #expect(error?.kind == .timeLimit)
        #expect(error?.message.hasSuffix("time limit exceeded (0.3 s)") == true)

        let budgetVM = try LuaVM(limits: .init(instructions: 2_000_000))
        let budgetError = failure(budgetVM, """
            for i = 1, 3 do pcall(string.find, string.rep("a", 5000), ".-.-.-.-b") end
            return "survived"
            """)
        #expect(budgetError?.kind == .instructionLimit)
    }

    @Test("gmatch, gsub and match with a pathological pattern are stopped, also as method calls")
    func otherPatternFunctionsStopped() throws {
        let scripts = [
            #"for x in string.rep("a", 5000):gmatch(".-.-.-.-b") do end"#,
            #"return (string.rep("a", 5000):gsub(".-.-.-.-b", "x"))"#,
            #"return string.gsub(string.rep("a", 5000), ".-.-.-.-b", function(s) return s end)"#,
            #"return string.rep("a", 5000):match(".-.-.-.-b")"#,
            #"return string.gmatch(string.rep("a", 5000), "(.-)(.-)(.-)b", 2)()"#,
        ]
        for script in scripts {
            let vm = try timeOnlyVM(seconds: 0.2)
            let error = failure(vm, script)
            #expect(error?.kind == .timeLimit, "\(script)")
            #expect(error?.message == "scripts/slow.lua:1: time limit exceeded (0.2 s)", "\(script)")
            let budgetVM = try LuaVM(limits: .init(instructions: 3_000_000))
            #expect(failure(budgetVM, script)?.kind == .instructionLimit, "\(script)")
        }
    }

    @Test("a plain search with a huge needle is charged too")
    func plainFindCharged() throws {
        let vm = try LuaVM(limits: .init(instructions: 1_000_000))
        let error = failure(vm, """
            local hay, needle = string.rep("a", 200000), string.rep("a", 100000) .. "b"
            return hay:find(needle, 1, true)
            """)
        #expect(error?.kind == .instructionLimit)
    }

    @Test("a plain Lua busy loop is stopped by the time limit")
    func busyLoopStoppedByTime() throws {
        let vm = try timeOnlyVM(seconds: 0.2)
        let error = failure(vm, "local n = 0\nwhile true do n = n + 1 end")
        #expect(error?.kind == .timeLimit)
        #expect(error?.message == "scripts/slow.lua:2: time limit exceeded (0.2 s)")
    }

    @Test("a loop of calls swallowing the trip with pcall is stopped and stays stopped until reset")
    func timeTripStaysUntilReset() throws {
        let vm = try timeOnlyVM(seconds: 0.2)
        let error = failure(vm, "local function f() end\nwhile true do pcall(function() while true do f() end end) end")
        #expect(error?.kind == .timeLimit)
        let again = failure(vm, "return 1 + 1")
        #expect(again?.kind == .timeLimit)
        vm.resetLimits()
        #expect(try vm.load("local n = 0 for i = 1, 1e5 do n = n + 1 end return n", chunkName: "ok.lua") == [100_000])
    }

    @Test("setTimeLimit(nil) clears the limit and a new limit clears a time trip")
    func clearingTheTimeLimit() throws {
        let vm = try timeOnlyVM(seconds: 0.1)
        #expect(failure(vm, "while true do end")?.kind == .timeLimit)
        vm.setTimeLimit(10)
        #expect(try vm.load("return 'again'", chunkName: "ok.lua") == ["again"])
        vm.setTimeLimit(nil)
        vm.setInstructionBudget(1_000_000)
        #expect(failure(vm, "while true do end")?.kind == .instructionLimit)
    }

    @Test("the time limit message names the limit in seconds")
    func timeLimitMessages() throws {
        let vm = try LuaVM()
        for (seconds, text) in [(0.5, "0.5 s"), (30, "30 s"), (1.25, "1.25 s"), (0.001, "0.001 s")] {
            vm.setTimeLimit(seconds)
            #expect(vm.limitMessage(.timeLimit) == "time limit exceeded (\(text))")
        }
    }

    @Test("a limit of zero stops the next script at once")
    func zeroTimeLimit() throws {
        let vm = try timeOnlyVM(seconds: 0)
        #expect(failure(vm, "for i = 1, 1e6 do end")?.kind == .timeLimit)
    }

    @Test("the pattern functions replace the real string table's, so method calls use them too")
    func replacementsInstalled() throws {
        let vm = try LuaVM()
        let stock = try vm.stockStringFunctions()
        let check = try vm.loadTrusted("""
            return function(stock)
              local same = 0
              for _, name in ipairs({ "find", "match", "gmatch", "gsub" }) do
                if string[name] == stock[name] then same = same + 1 end
                if ("")[name] ~= string[name] then same = same + 100 end
              end
              return same
            end
            """, chunkName: "check.lua")
        guard case .function(let function)? = check.first else {
            Issue.record("no function")
            return
        }
        let result = try vm.call(function, [stock])
        #expect(result == [0])
    }
}
