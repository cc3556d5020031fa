import BlacklightCore
import Foundation
import LuaHost
import PGStore

extension ExecutionHost {
    /// `cron.schedule(name, expression, {event = NAME, data = TABLE, timezone = TZ, jitter = S})`,
    /// `cron.unschedule(name)` and `cron.list()`: schedules created at run time, stored in
    /// blacklight.schedules (id `user:<name>`), fired by the same exactly-once scheduler as cron triggers.
    func installCron() {
        vm.setGlobalTable("cron", functions: [
            "schedule": { [unowned self] args in try self.schedule(args) },
            "unschedule": { [unowned self] args in
                let name = try args.string(1, name: "cron.unschedule")
                let removed = try self.cronSQL("cron.unschedule") { conn in
                    try conn.exec("DELETE FROM blacklight.schedules WHERE id = $1", [.text("user:" + name)])
                }
                return [.bool(removed > 0)]
            },
            "list": { [unowned self] _ in
                let rows = try self.cronQuery("cron.list") { conn in
                    try conn.query("""
                        SELECT id, expression, timezone, jitter, event_name, event_data, last_tick
                        FROM blacklight.schedules WHERE function_id IS NULL ORDER BY id
                        """)
                }
                let sql = self.sql
                return [.table(LuaTable(array: rows.rows.map { row in
                    var t = LuaTable()
                    t["name"] = .string(String((row["id"].stringValue ?? "").dropFirst("user:".count)))
                    t["expression"] = .string(row["expression"].stringValue ?? "")
                    if let tz = row["timezone"].stringValue { t["timezone"] = .string(tz) }
                    t["event"] = .string(row["event_name"].stringValue ?? "")
                    t["data"] = sql.value(row["event_data"])
                    if case .timestamp = row["last_tick"] { t["last_tick"] = sql.value(row["last_tick"]) }
                    return .table(t)
                }, hash: []))]
            },
        ])
    }

    private func schedule(_ args: LuaCallArguments) throws -> [LuaValue] {
        let fname = "cron.schedule"
        let name = try args.string(1, name: fname)
        let expression = try args.string(2, name: fname)
        let opts = try args.optionalTable(3, name: fname) ?? LuaTable()
        guard !name.isEmpty, name.count <= 200 else { throw EngineError.lua("\(fname): the schedule name must be 1 to 200 characters") }
        guard case .string(let event)? = opts["event"], !event.isEmpty else {
            throw EngineError.lua("\(fname)('\(name)'): options need 'event', the name of the event to send at each tick")
        }
        var zone: TimeZone?
        var timezone: String?
        if case .string(let tz)? = opts["timezone"] {
            guard let z = TimeZone(identifier: tz) else { throw EngineError.lua("\(fname)('\(name)'): unknown timezone '\(tz)'") }
            zone = z
            timezone = tz
        }
        let cron: CronExpression
        do {
            cron = try CronExpression(expression, timeZone: zone)
        } catch {
            throw EngineError.lua("\(fname)('\(name)'): \(error)")
        }
        var jitter = 0.0
        if let j = opts["jitter"] { jitter = try duration(j, function: "\(fname)('\(name)')") }
        var data: JSONValue = .object([:])
        if let d = opts["data"] {
            data = try codec.encode(d)
            guard case .object = data else { throw EngineError.lua("\(fname)('\(name)'): 'data' must be a table with named fields") }
        }
        do {
            // Each tick sends this event: refused now, at the call, rather than at every tick in the scheduler.
            try EventStore.Event(name: event, data: data).validate(index: nil, limits: EventLimits())
        } catch {
            throw EngineError.lua("\(fname)('\(name)'): \(error.message)")
        }
        let start = cron.previous(atOrBefore: Date()) ?? Date()
        try cronSQL(fname) { conn in
            try conn.exec("""
                INSERT INTO blacklight.schedules (id, expression, timezone, jitter, event_name, event_data, last_tick)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET
                    last_tick = CASE WHEN blacklight.schedules.expression = EXCLUDED.expression
                                     THEN blacklight.schedules.last_tick ELSE EXCLUDED.last_tick END,
                    expression = EXCLUDED.expression, timezone = EXCLUDED.timezone, jitter = EXCLUDED.jitter,
                    event_name = EXCLUDED.event_name, event_data = EXCLUDED.event_data
                """, [.text("user:" + name), .text(expression), timezone.map { .text($0) } ?? .null, .double(jitter),
                      .text(event), .json(data.serialized()), .timestamp(start)])
        }
        return [.string(name)]
    }

    @discardableResult
    private func cronSQL(_ function: String, _ body: (PGConnection) throws -> Int) throws -> Int {
        try guarded(function, body)
    }

    private func cronQuery(_ function: String, _ body: (PGConnection) throws -> PGResult) throws -> PGResult {
        try guarded(function, body)
    }
}
