import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// The Swift half of the host API inside one WorkflowVM: the `__bl` functions behind `step.*`, and the
/// `db`, `json`, `log`, `events` and `time` tables. It knows which run is executing (if any) and the
/// batch transaction its database work belongs to.
final class ExecutionHost {
    unowned let vm: LuaVM
    let services: HostServices
    let file: String
    let times: TimeType
    var declared: (table: LuaTable, line: Int)?
    /// Instructions allowed per step and per stretch of code between steps.
    var instructionBudget = 50_000_000
    /// The `step` table passed to run(ctx, step).
    var stepTable: LuaValue = .nil
    /// The run executing now, with its batch and limits; nil at load time. Set only by `enter`/`leave`.
    private(set) var context: RunContext?
    var run: RunExecution? { context?.run }
    var batch: Batch? { context?.batch }
    /// Calls `on_failure(ctx, err)` with `err` given the metatable whose `__tostring` shows its message.
    var runOnFailure: LuaRef?
    /// `db.tx`, written in Lua (it calls the script's function in a pcall).
    var dbTransaction: LuaRef?

    var codec: MemoCodec { MemoCodec(times: times, vectors: vectors) }
    var sql: SQLBridge { SQLBridge(times: times, vectors: vectors) }
    /// Set by an extension (see HostExtensionContext.setVectorBridge).
    var vectors: VectorBridge?

    init(vm: LuaVM, services: HostServices, file: String) {
        self.vm = vm
        self.services = services
        self.file = file
        self.times = TimeType(vm: vm)
    }

    func install() throws {
        times.install()
        let hostFunctions: [String: LuaFunction] = [
            "begin": { [unowned self] args in try self.beginStep(args) },
            "finish": { [unowned self] args in try self.finishStep(args) },
            "fail": { [unowned self] args in try self.failStep(args) },
            "sleep": { [unowned self] args in try self.sleep(args) },
            "wait": { [unowned self] args in try self.wait(args) },
            "invoke": { [unowned self] args in try self.invoke(args) },
            "send": { [unowned self] args in try self.sendEvents(args[1], function: "step.send_event") },
            "tx_begin": { [unowned self] _ in try self.beginNestedTransaction() },
            "tx_end": { [unowned self] args in try self.endNestedTransaction(args) },
        ]
        var hostTable = LuaTable()
        for (name, fn) in hostFunctions { hostTable.hash.append((key: .string(name), value: .function(vm.makeFunction(fn)))) }
        let prelude = try vm.loadTrusted(Prelude.source, chunkName: "=blacklight.prelude")
        guard case .function(let makePrelude)? = prelude.first else { throw EngineError.lua("the prelude did not load") }
        let results = try vm.call(makePrelude, [.table(hostTable)])
        guard case .table(let step)? = results.first, results.count > 2, case .function(let onFailure) = results[1],
              case .function(let tx) = results[2] else {
            throw EngineError.lua("the prelude did not return step, its on_failure runner and db.tx")
        }
        runOnFailure = onFailure
        dbTransaction = tx
        var stepValues: [String: LuaValue] = [:]
        for (k, v) in step.hash { if let name = k.asString { stepValues[name] = v } }
        vm.setGlobalTable("step", functions: [:], values: stepValues)
        stepTable = results[0]
        // A Swift function, so that inside it the script's frame is still on the stack even for
        // `return workflow { ... }` (a tail call to a Lua function would have replaced that frame).
        vm.setGlobalFunction("workflow") { [unowned self] args in
            guard case .table(let t) = args[1] else {
                throw EngineError.lua("workflow{...} expects a table, got \(args.typeName(1))")
            }
            if self.declared != nil {
                throw EngineError.lua("a script declares one workflow; workflow{...} was called twice")
            }
            self.declared = (t, self.vm.callerLine() ?? 0)
            return [args[1]]
        }
        installDB()
        installJSON()
        installLog()
        installCron()
        vm.setGlobalTable("events", functions: [
            "send": { [unowned self] args in try self.sendEvents(args[1], function: "events.send") },
        ])
        let context = HostExtensionContext(vm: vm, database: ScriptDatabase(host: self), makeTime: times.make,
                                           setVectorBridge: { [weak self] in self?.vectors = $0 })
        for ext in services.extensions { try ext.install(into: context) }
    }

    // MARK: - the run executing now

    /// Makes `context` the run the host API acts for, until `leave()`.
    func enter(_ context: RunContext) {
        self.context = context
    }

    func leave() {
        context = nil
    }

    func requireRun(_ function: String) throws -> (RunExecution, Batch) {
        let context = try requireContext(function)
        return (context.run, context.batch)
    }

    func requireContext(_ function: String) throws -> RunContext {
        guard let context else {
            throw EngineError.lua("\(function) is only available while a run executes (not when the script loads)")
        }
        return context
    }


    func jsonError(_ value: LuaValue) -> JSONValue {
        (try? codec.encode(value)) ?? .string(value.asString ?? value.typeName)
    }
}

import Logging

extension ExecutionHost {
    static func level(_ name: String) -> Logger.Level {
        switch name {
        case "debug": return .debug
        case "warn": return .warning
        case "error": return .error
        default: return .info
        }
    }
}
