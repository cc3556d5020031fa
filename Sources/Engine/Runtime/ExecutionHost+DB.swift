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
        ], values: dbTransaction.map { ["tx": .function($0)] } ?? [:])
    }

    /// `db.tx` begins: a savepoint nested in the step's, named by its depth.
    func beginNestedTransaction() throws -> [LuaValue] {
        let context = try requireContext("db.tx")
        guard let active = context.run.current else {
            throw EngineError.lua("db.tx must be called inside step.run (outside steps each statement is already isolated)")
        }
        guard active.transactional else {
            throw EngineError.lua("db.tx inside step '\(active.key)': a `transaction = false` step has no transaction to nest in")
        }
        _ = try guarded("db.tx") { _ in 0 }  // opens the step's savepoint if this is the step's first SQL
        context.txDepth += 1
        try context.batch.conn.execScript("SAVEPOINT bl_tx_\(context.txDepth)")
        return [.int(Int64(context.txDepth))]
    }

    /// `db.tx` ends: released when the function returned and no SQL error was swallowed inside, else rolled back.
    func endNestedTransaction(_ args: LuaCallArguments) throws -> [LuaValue] {
        let context = try requireContext("db.tx")
        let depth = args[1].asInt.map(Int.init) ?? context.txDepth
        guard depth == context.txDepth, depth > 0 else { return [] }
        context.txDepth -= 1
        let conn = context.batch.conn
        let swallowed = conn.isInFailedTransaction
        if args[2].asBool == true && !swallowed {
            try conn.execScript("RELEASE SAVEPOINT bl_tx_\(depth)")
            return []
        }
        try conn.execScript("ROLLBACK TO SAVEPOINT bl_tx_\(depth); RELEASE SAVEPOINT bl_tx_\(depth)")
        if args[2].asBool == true {
            throw EngineError(.database, "db.tx: a SQL error inside the block was caught and the block carried on; its writes were rolled back")
        }
        return []
    }

    /// Runs one statement with every argument bound. Inside a step the first statement opens the
    /// step's savepoint; outside steps each statement gets its own, so a SQL error never poisons the
    /// batch transaction that other runs share. Transaction control and session changes are refused
    /// (ScriptSQLPolicy), and a result larger than the run's limit is an error that suggests paging.
    func runSQL(_ args: LuaCallArguments, function: String) throws -> PGResult {
        let context = try requireContext(function)
        let text = try args.string(1, name: function)
        if let refusal = ScriptSQLPolicy.refusal(text) {
            throw EngineError(.badInput, "\(function): \(refusal)", context: "in: " + String(text.prefix(200)))
        }
        var params: [PGValue] = []
        params.reserveCapacity(max(0, args.count - 1))
        if args.count > 1 {
            for i in 2...args.count {
                params.append(try sql.parameter(args[i], index: i, function: function))
            }
        }
        context.usedSQL = true
        let limit = context.limits.queryResultBytes
        do {
            return try guarded(function) { conn in try conn.query(text, params, maxResultBytes: limit) }
        } catch let error as PGError where error.code == .resultTooLarge {
            throw EngineError(.badInput, "\(function): \(error.message) (\(Self.megabytes(limit))); fetch it in pages: ORDER BY a key "
                + "with LIMIT, then WHERE key > the last one", context: "in: " + String(text.prefix(200)))
        } catch let error as PGError {
            throw EngineError(.database, "\(function): \(Self.describe(error))", context: "in: " + String(text.prefix(200)))
        }
    }

    static func describe(_ error: PGError) -> String {
        var text = error.message
        if error.sqlState == "57014" { text = "the statement ran past the step's time limit (\(text))" }
        return text + (error.sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    static func megabytes(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MiB", Double(bytes) / 1_048_576) : "\(bytes) bytes"
    }

    /// Runs engine, extension or script SQL for the executing run: inside a step in the step's savepoint (opened
    /// on first use with the step's statement timeout), outside steps in a savepoint of its own, in autocommit for
    /// `transaction = false` steps.
    ///
    /// A SQL error inside a step rolls the step's savepoint back at once, which leaves the batch transaction usable
    /// for the other runs, and marks the step failed: a script that catches the error with pcall cannot carry on
    /// without the writes that were undone, and the step fails when it ends.
    func guarded<T>(_ function: String, _ body: (PGConnection) throws -> T) throws -> T {
        let context = try requireContext(function)
        let run = context.run
        let conn = context.batch.conn
        if var active = run.current {
            if let failure = active.sqlFailure {
                throw EngineError(.database, "\(function): step '\(active.key)' already failed on a SQL error and its writes were "
                    + "rolled back (\(failure)); the step cannot continue")
            }
            if active.transactional, !active.savepoint {
                try conn.execScript("SAVEPOINT bl_step; SET LOCAL statement_timeout = \(Batch.milliseconds(remaining(active)))")
                active.savepoint = true
                run.current = active
            } else if !active.transactional {
                try conn.execScript("SET statement_timeout = \(Batch.milliseconds(remaining(active)))")
            }
            do {
                return try body(conn)
            } catch {
                // Inside db.tx the block's savepoint takes the error; db.tx rolls back to it.
                if active.savepoint, context.txDepth == 0, conn.isInFailedTransaction {
                    try conn.execScript("ROLLBACK TO SAVEPOINT bl_step")
                    run.current?.sqlFailure = (error as? PGError).map(Self.describe) ?? "\(error)"
                }
                throw error
            }
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

    /// What is left of the step's time limit, for the statement timeout.
    func remaining(_ active: ActiveStep) -> Double {
        max(0.001, active.timeLimit - Date().timeIntervalSince(active.startedAt))
    }

    /// `events.send(event_or_list)` and `step.send_event`: only inside a step, so the event is stored
    /// exactly when the step's memo is.
    func sendEvents(_ value: LuaValue, function: String) throws -> [LuaValue] {
        let (run, _) = try requireRun(function)
        guard run.current != nil else {
            throw EngineError.lua("\(function) must be called inside step.run (or use step.send_event) so the send is durable")
        }
        guard case .table(let t) = value else {
            throw EngineError.lua("\(function): expected an event {name = ..., data = {...}} or a list of them, got \(value.typeName)")
        }
        let list: [LuaValue] = t.array.isEmpty ? [value] : t.array
        var ids: [LuaValue] = []
        // All events are checked before the first is stored: a refused list stores nothing (the step fails).
        var events: [EventStore.Event] = []
        for (i, item) in list.enumerated() {
            guard case .table(let e) = item else {
                throw EngineError.lua("\(function): event \(i + 1): must be a table {name = ..., data = {...}}, got \(item.typeName)")
            }
            var fields: [String: JSONValue] = [:]
            if case .string(let name)? = e["name"] { fields["name"] = .string(name) } else if let n = e["name"] {
                throw EngineError.lua("\(function): event \(i + 1): field 'name': must be a string, got \(n.typeName)")
            }
            if let d = e["data"] {
                do {
                    fields["data"] = try codec.encode(d)
                } catch {
                    throw EngineError.lua("\(function): event \(i + 1): field 'data': \(error)")
                }
            }
            if let id = e["id"]?.asString { fields["id"] = .string(id) }
            do {
                // Lua counts from 1, so the index named in a refusal is the event's place in the script's list.
                events.append(try EventStore.Event(json: .object(fields), index: i + 1, limits: EventLimits()))
            } catch {
                throw EngineError.lua("\(function): \(error.message)")
            }
        }
        for (i, event) in events.enumerated() {
            do {
                let r = try guarded(function) { conn in
                    try conn.query("SELECT blacklight.ingest_event($1, $2::jsonb, $3) AS id",
                                   [.text(event.name), .json(event.data.serialized()), event.id.map { .text($0) } ?? .null])
                }
                ids.append(.string(r.rows.first?["id"].stringValue ?? ""))
            } catch let error as PGError {
                throw EngineError(.database, "\(function): event #\(i + 1): \(Self.describe(error))")
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
                if let context = self.context {
                    self.keepLog(message, level: level, context: context)
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

extension ExecutionHost {
    /// Buffers a log line for the run within its limits: a long message is cut, and past the run's line or byte
    /// budget lines are counted instead of kept; the first dropped line leaves a marker saying so.
    func keepLog(_ message: String, level: String, context: RunContext) {
        let limits = context.limits
        let runID = context.run.claim.id
        if context.logLines >= limits.logLines || context.logBytes >= limits.logBytes {
            if context.logsDropped == 0 {
                context.batch.logs.append(LogRecord(runID: runID, at: Date(), level: "warn", message:
                    "[log truncated: this run reached its log limit (\(limits.logLines) lines or \(Self.megabytes(limits.logBytes))); "
                    + "further lines are dropped]"))
            }
            context.logsDropped += 1
            return
        }
        var text = LogText.clean(message)
        if text.utf8.count > limits.logMessageBytes {
            let kept = String(decoding: text.utf8.prefix(limits.logMessageBytes), as: UTF8.self)
            text = kept + " [truncated: \(text.utf8.count - limits.logMessageBytes) more bytes]"
        }
        context.logLines += 1
        context.logBytes += text.utf8.count
        context.batch.logs.append(LogRecord(runID: runID, at: Date(), level: level, message: text))
        services.log.log(level: Self.level(level), "\(text.prefix(2000))", metadata: ["run": "\(runID)"])
    }
}

/// Text that PostgreSQL's `text` and `jsonb` can hold: no NUL characters (libpq would cut the value there).
enum LogText {
    static func clean(_ text: String) -> String {
        text.utf8.contains(0) ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }
}
