import BlacklightCore
import Foundation

import PGStore
import Engine

/// A fresh migrated database, a temporary project folder, and an in-process worker that the test
/// drives batch by batch (no threads), so tests are deterministic.
public final class Harness {
    public let url: String
    public let conn: PGConnection
    public let root: URL
    public var settings = WorkerSettings()
    public var services = HostServices()
    private var workerInstance: InProcessWorker?

    /// `migrations` run on the template once per key (e.g. the app's tables for matching tests).
    public convenience init(scripts: [String: String] = [:], plugins: [String: String] = [:], setupSQL: String? = nil,
                            migrations: [Migrator] = [], templateKey: String = "engine") throws {
        let url = try TestDatabase.fresh(prepare: { conn in
            _ = try EngineMigrations.migrator().migrate(conn)
            for m in migrations { _ = try m.migrate(conn) }
        }, templateKey: templateKey)
        try self.init(url: url, scripts: scripts, plugins: plugins, setupSQL: setupSQL)
    }

    /// The same on a database of the caller's (e.g. on a scratch cluster), which must be migrated already.
    public init(url: String, scripts: [String: String] = [:], plugins: [String: String] = [:], setupSQL: String? = nil) throws {
        self.url = url
        conn = try PGConnection(url: url)
        root = FileManager.default.temporaryDirectory.appendingPathComponent("bl-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("plugins"), withIntermediateDirectories: true)
        services.retryBaseDelay = 0.01
        services.log.logLevel = .critical
        settings.pollInterval = 0.05
        if let setupSQL { try conn.execScript(setupSQL) }
        for (name, source) in plugins { try write(plugin: name, source) }
        for (name, source) in scripts { try write(script: name, source) }
    }

    deinit {
        conn.close()
        try? FileManager.default.removeItem(at: root)
    }

    public func write(script name: String, _ source: String) throws {
        try source.write(to: root.appendingPathComponent("scripts/\(name)"), atomically: true, encoding: .utf8)
    }

    public func write(plugin name: String, _ source: String) throws {
        try source.write(to: root.appendingPathComponent("plugins/\(name).lua"), atomically: true, encoding: .utf8)
    }

    /// Loads scripts/ and activates what compiles; returns the load result.
    @discardableResult
    public func load() throws -> ScriptDirectory.LoadResult {
        var dir = ScriptDirectory(root: root)
        dir.limits = settings.limits
        let result = dir.load(services: services)
        try Registry().activate(result.workflows, errors: result.errors, retireMissing: true, conn: conn)
        return result
    }

    @discardableResult
    public func send(_ name: String, _ data: JSONValue = [:], id: String? = nil) throws -> String {
        try EventStore().send([EventStore.Event(name: name, data: data, id: id)], conn: conn).first ?? ""
    }

    public var worker: InProcessWorker {
        if let workerInstance { return workerInstance }
        let w = InProcessWorker(url: url, settings: settings, services: services)
        workerInstance = w
        return w
    }

    /// Processes batches until nothing is due now. Returns the number of runs processed.
    @discardableResult
    public func drain(maxBatches: Int = 1000) throws -> Int {
        try worker.drain(maxBatches: maxBatches)
    }

    /// Drains until `condition` holds (sleeps, retries with backoff, waits); fails after `timeout`.
    public func drain(until timeout: Double = 30, _ condition: () throws -> Bool) throws {
        try Poll.until("the condition after draining", timeout: timeout) {
            try drain()
            return try condition()
        }
    }

    public func runs(function: String? = nil) throws -> [PGRow] {
        try conn.query("SELECT * FROM blacklight.runs WHERE $1::text IS NULL OR function_id = $1 ORDER BY id",
                       [function.map { .text($0) } ?? .null]).rows
    }

    public func run(_ id: String) throws -> PGRow? {
        try conn.query("SELECT * FROM blacklight.runs WHERE id = $1", [.text(id)]).rows.first
    }

    public func onlyRun(_ function: String) throws -> PGRow {
        let all = try runs(function: function)
        guard all.count == 1 else { let kinds = all.prefix(4).map { "\($0["kind"].stringValue ?? "?")/\($0["status"].stringValue ?? "?")/\($0["parent_run_id"].stringValue ?? "-")/\($0["error"].jsonText ?? "")" }
            throw EngineError(.notFound, "expected one run of \(function), found \(all.count): \(kinds)") }
        return all[0]
    }

    public func steps(_ runID: String) throws -> [PGRow] {
        try conn.query("SELECT * FROM blacklight.steps WHERE run_id = $1 ORDER BY seq, key", [.text(runID)]).rows
    }

    public func output(_ row: PGRow) -> JSONValue? {
        row["output"].jsonText.flatMap { try? JSONValue.parse($0) }
    }

    public func error(_ row: PGRow) -> JSONValue? {
        row["error"].jsonText.flatMap { try? JSONValue.parse($0) }
    }

    public func scalar(_ sql: String, _ params: [PGValue] = []) throws -> PGValue {
        try conn.query(sql, params).rows.first?[0] ?? .null
    }

    /// Ends every sleep now, as if its time had come: tests sleep for an hour, so a slow machine never wakes a
    /// run before the test means it to.
    public func wakeSleepingRuns() throws {
        try conn.exec("""
            WITH s AS (
                UPDATE blacklight.steps SET wake_at = now() - interval '1 millisecond'
                WHERE status = 'sleeping' AND run_id IN (SELECT id FROM blacklight.runs WHERE status = 'sleeping')
            )
            UPDATE blacklight.runs SET run_at = now() - interval '1 millisecond' WHERE status = 'sleeping'
            """)
    }

    /// Waits until `processes` cron schedulers (each process's own connection) have each started reading the
    /// schedules after this call: every one of them has then seen the ticks fired before it, so a tick that
    /// none fired twice by then is fired once. Read from each backend's last statement in `pg_stat_activity`.
    public func waitForSchedulers(_ processes: Int, timeout: Double = 60) throws {
        let since = try scalar("SELECT clock_timestamp()").dateValue ?? Date()
        try Poll.until("\(processes) schedulers to read the schedules again", timeout: timeout) {
            try scalar("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND query_start > $1 AND query = $2
                """, [.timestamp(since), .text(CronScheduler.readSchedules)]).intValue ?? 0 >= Int64(processes)
        }
    }

    /// The built `blacklight` executable next to the test bundle.
    public static var executable: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("blacklight")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return exe.deletingLastPathComponent().appendingPathComponent("blacklight")
    }
}

extension Harness {
    /// Starts a run of `function` now, as "invoke" does (cron functions too).
    @discardableResult
    public func invoke(_ function: String, _ data: JSONValue = [:]) throws -> String {
        try conn.query("""
            WITH e AS (INSERT INTO blacklight.events (id, name, data, ts) VALUES (blacklight.ulid(), 'blacklight/invoke', $2::jsonb, now())
                       RETURNING id)
            SELECT blacklight.enqueue_run($1, e.id, $2::jsonb) FROM e
            """, [.text(function), .json(data.serialized())]).rows.first?[0].stringValue ?? ""
    }
}
