import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ExecutionHost {
    func installDB() {
        vm.setGlobalTable("db", functions: [
            "query": { [unowned self] args in
                let result = try self.runSQL(args, function: "db.query")
                let sql = self.sql
                return [.table(LuaTable(array: result.rows.map(sql.row), hash: []))]
            },
            "one": { [unowned self] args in
                let result = try self.runSQL(args, function: "db.one")
                guard let row = result.rows.first else { return [.nil] }
                return [self.sql.row(row)]
            },
            "exec": { [unowned self] args in
                let result = try self.runSQL(args, function: "db.exec")
                return [.int(Int64(result.affectedRows))]
            },
        ])
    }

    /// Runs one statement with every argument bound. Inside a step the first statement opens the
    /// step's savepoint; outside steps each statement gets its own, so a SQL error never poisons the
    /// batch transaction that other runs share.
    func runSQL(_ args: LuaCallArguments, function: String) throws -> PGResult {
        _ = try requireRun(function)
        let text = try args.string(1, name: function)
        var params: [PGValue] = []
        params.reserveCapacity(max(0, args.count - 1))
        if args.count > 1 {
            for i in 2...args.count {
                params.append(try sql.parameter(args[i], index: i, function: function))
            }
        }
        do {
            return try guarded(function) { conn in try conn.query(text, params) }
        } catch let error as PGError {
            throw EngineError(.database, "\(function): \(error.message)" + (error.sqlState.map { " (SQLSTATE \($0))" } ?? ""),
                              context: "in: " + String(text.prefix(200)))
        }
    }

    /// Runs engine or script SQL for the executing run: inside a step in the step's savepoint (opened on
    /// first use), outside steps in a savepoint of its own, in autocommit for `transaction = false` steps.
    func guarded<T>(_ function: String, _ body: (PGConnection) throws -> T) throws -> T {
        let (run, batch) = try requireRun(function)
        let conn = batch.conn
        if var active = run.current {
            if active.transactional, !active.savepoint {
                try conn.exec("SAVEPOINT bl_step")
                active.savepoint = true
                run.current = active
            }
            return try body(conn)
        }
        try conn.exec("SAVEPOINT bl_stmt")
        do {
            let result = try body(conn)
            try conn.exec("RELEASE SAVEPOINT bl_stmt")
            return result
        } catch {
            _ = try? conn.exec("ROLLBACK TO SAVEPOINT bl_stmt")
            _ = try? conn.exec("RELEASE SAVEPOINT bl_stmt")
            throw error
        }
    }

    /// `events.send(event_or_list)` and `step.send_event`: only inside a step, so the event is stored
    /// exactly when the step's memo is.
    func sendEvents(_ value: LuaValue, function: String) throws -> [LuaValue] {
        let (run, batch) = try requireRun(function)
        guard let active = run.current else {
            throw EngineError.lua("\(function) must be called inside step.run (or use step.send_event) so the send is durable")
        }
        guard case .table(let t) = value else {
            throw EngineError.lua("\(function): expected an event {name = ..., data = {...}} or a list of them, got \(value.typeName)")
        }
        let list: [LuaValue] = t.array.isEmpty ? [value] : t.array
        let conn = batch.conn
        if active.transactional, !active.savepoint {
            try conn.exec("SAVEPOINT bl_step")
            run.current?.savepoint = true
        }
        var ids: [LuaValue] = []
        for (i, item) in list.enumerated() {
            guard case .table(let e) = item, case .string(let name)? = e["name"], !name.isEmpty else {
                throw EngineError.lua("\(function): event #\(i + 1) needs a non-empty 'name'")
            }
            var data: JSONValue = .object([:])
            if let d = e["data"] {
                let encoded = try codec.encode(d)
                guard case .object = encoded else {
                    throw EngineError.lua("\(function): event #\(i + 1) 'data' must be a table with named fields")
                }
                data = encoded
            }
            let external: PGValue = e["id"]?.asString.map { .text($0) } ?? .null
            do {
                let r = try conn.query("SELECT blacklight.ingest_event($1, $2::jsonb, $3) AS id",
                                       [.text(name), .json(data.serialized()), external])
                ids.append(.string(r.rows.first?["id"].stringValue ?? ""))
            } catch {
                throw EngineError(.database, "\(function): \(error.message)")
            }
        }
        return [.table(LuaTable(array: ids, hash: []))]
    }

    func installJSON() {
        vm.setGlobalTable("json", functions: [
            "encode": { [unowned self] args in
                do {
                    return [.string(try self.codec.encode(args[1]).serialized())]
                } catch {
                    throw EngineError.lua("json.encode: \(error)")
                }
            },
            "decode": { [unowned self] args in
                let text = try args.string(1, name: "json.decode")
                do {
                    return [self.codec.decode(try JSONValue.parse(text))]
                } catch {
                    throw EngineError.lua("json.decode: \(error)")
                }
            },
        ])
    }

    func installLog() {
        func logger(_ level: String) -> LuaFunction {
            return { [unowned self] args in
                var parts: [String] = []
                for i in stride(from: 1, through: args.count, by: 1) {
                    let v = args[i]
                    if case .table = v, let json = try? self.codec.encode(v) {
                        parts.append(json.serialized())
                    } else {
                        parts.append(v.asString ?? v.asDouble.map { "\($0)" } ?? v.typeName)
                    }
                }
                let message = parts.joined(separator: " ")
                if let run = self.run, let batch = self.batch {
                    batch.logs.append(LogRecord(runID: run.claim.id, at: Date(), level: level, message: message))
                    self.services.log.log(level: Self.level(level), "\(message)", metadata: ["run": "\(run.claim.id)"])
                } else {
                    self.services.log.log(level: Self.level(level), "\(self.file): \(message)")
                }
                return []
            }
        }
        vm.setGlobalTable("log", functions: [
            "debug": logger("debug"), "info": logger("info"), "warn": logger("warn"), "error": logger("error"),
        ])
    }
}
