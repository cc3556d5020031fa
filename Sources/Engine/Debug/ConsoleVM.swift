import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// The REPL's own Lua state: the workflow host API (json, log, time, ...) plus a `db` bound to the
/// REPL's read-only connection, where only `db.exec` may write (each call in its own read-write
/// transaction), and a `step` that runs functions directly (there is no run to memoize into).
final class ConsoleVM {
    let vm: LuaVM
    let host: ExecutionHost
    let tools: ConsoleTools
    let conn: PGConnection

    init(conn: PGConnection, root: URL, services: HostServices, limits: LuaVM.Limits, out: @escaping (String) -> Void) throws {
        self.conn = conn
        let plugins = root.appendingPathComponent("plugins")
        vm = try LuaVM(
            limits: limits,
            moduleSource: { name in
                guard ScriptDirectory.isValidModuleName(name) else { return nil }
                let path = plugins.appendingPathComponent(name.replacingOccurrences(of: ".", with: "/") + ".lua").path
                guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                    return nil
                }
                return (source: text, chunkName: "@plugins/\(name).lua")
            },
            print: out)
        host = ExecutionHost(vm: vm, services: services, file: "repl")
        host.instructionBudget = limits.instructions
        try host.install()
        tools = try ConsoleTools.load(into: vm)
        _ = try vm.call(tools.setOverrides, [.table(overrides(out: out))])
    }

    private func overrides(out: @escaping (String) -> Void) -> LuaTable {
        let sql = host.sql
        let conn = self.conn
        let vm = self.vm
        func params(_ args: LuaCallArguments, _ function: String) throws -> (String, [PGValue]) {
            let text = try args.string(1, name: function)
            var values: [PGValue] = []
            if args.count > 1 {
                for i in 2...args.count { values.append(try sql.parameter(args[i], index: i, function: function)) }
            }
            return (text, values)
        }
        func run(_ function: String, write: Bool, _ args: LuaCallArguments) throws -> PGResult {
            let (text, values) = try params(args, function)
            do {
                guard write else { return try conn.query(text, values) }
                // The session default is read-only; this one explicit call gets its own read-write
                // transaction, committed at once.
                try conn.exec("BEGIN READ WRITE")
                do {
                    let result = try conn.query(text, values)
                    try conn.exec("COMMIT")
                    return result
                } catch {
                    _ = try? conn.exec("ROLLBACK")
                    throw error
                }
            } catch let error as PGError {
                var message = "\(function): \(error.message)"
                if error.sqlState == "25006" { message += " (the REPL is read-only: write with db.exec, or use :try)" }
                throw EngineError(.database, message)
            }
        }
        let db = LuaTable.from([
            "query": .function(vm.makeFunction { args in
                [.table(LuaTable(array: try run("db.query", write: false, args).rows.map(sql.row), hash: []))]
            }),
            "one": .function(vm.makeFunction { args in
                [try run("db.one", write: false, args).rows.first.map(sql.row) ?? .nil]
            }),
            "exec": .function(vm.makeFunction { args in
                [.int(Int64(try run("db.exec", write: true, args).affectedRows))]
            }),
        ])
        let step = LuaTable.from([
            "run": .function(vm.makeFunction { args in
                let id = args[1].asString ?? "?"
                guard case .function(let fn) = args[args.count] else {
                    throw EngineError.lua("step.run('\(id)'): expected a function as the last argument")
                }
                out("(console: step '\(id)' runs directly; nothing is memoized)")
                return try vm.call(fn, [])
            }),
            "sleep": .function(vm.makeFunction { args in
                out("(console: step.sleep('\(args[1].asString ?? "?")') skipped)")
                return []
            }),
            "sleep_until": .function(vm.makeFunction { args in
                out("(console: step.sleep_until('\(args[1].asString ?? "?")') skipped)")
                return []
            }),
            "wait_for_event": .function(vm.makeFunction { args in
                out("(console: step.wait_for_event('\(args[1].asString ?? "?")') returns nil: nothing waits here)")
                return [.nil]
            }),
            "send_event": .function(vm.makeFunction { _ in
                throw EngineError.lua("step.send_event writes: in the REPL use :try FUNCTION_ID, or db.exec(\"SELECT blacklight.send_event($1, $2::jsonb)\", name, json.encode(data))")
            }),
            "non_retriable": .function(vm.makeFunction { args in
                [.table(LuaTable.from(["__blacklight": "non_retriable", "message": .string(args[1].asString ?? "")]))]
            }),
            "retry_after": .function(vm.makeFunction { args in
                [.table(LuaTable.from(["__blacklight": "retry_after", "seconds": args[1], "message": .string(args[2].asString ?? "retry requested")]))]
            }),
        ])
        let events = LuaTable.from([
            "send": .function(vm.makeFunction { _ in
                throw EngineError.lua("events.send writes: in the REPL use :try FUNCTION_ID, or db.exec(\"SELECT blacklight.send_event($1, $2::jsonb)\", name, json.encode(data))")
            }),
        ])
        return LuaTable.from(["db": .table(db), "step": .table(step), "events": .table(events)])
    }

    /// Evaluates one chunk in the REPL's session.
    func evaluate(_ source: String) -> ConsoleTools.Result {
        vm.resetLimits()
        vm.setInstructionBudget(host.instructionBudget)
        do {
            return ConsoleTools.Result(try vm.call(tools.console, [.string(source)]))
        } catch {
            return .error(error.description)
        }
    }

    /// True when `source` is an unfinished chunk (its compile error is at <eof>).
    func isIncomplete(_ source: String) -> Bool {
        guard case .function(let compile)? = tools.table["compile"],
              let r = try? vm.call(compile, [.string(source), .nil, .string("=repl")]) else { return false }
        return r.count >= 3 && r[2].asBool == true
    }

    func pretty(_ value: LuaValue) -> String {
        (try? vm.call(tools.pretty, [value]).first?.asString) ?? "?"
    }
}
