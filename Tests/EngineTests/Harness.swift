import BlacklightCore
import Foundation
import LuaHost
import PGStore
import TestSupport
@testable import Engine

/// A fresh migrated database, a temporary project folder, and an in-process worker that the test
/// drives batch by batch (no threads), so tests are deterministic.
final class Harness {
    let url: String
    let conn: PGConnection
    let root: URL
    var settings = WorkerSettings()
    var services = HostServices()
    private var workerInstance: Worker?

    init(scripts: [String: String] = [:], plugins: [String: String] = [:], setupSQL: String? = nil) throws {
        url = try TestDatabase.fresh(prepare: { conn in
            _ = try EngineMigrations.migrator().migrate(conn)
        }, templateKey: "engine")
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

    func write(script name: String, _ source: String) throws {
        try source.write(to: root.appendingPathComponent("scripts/\(name)"), atomically: true, encoding: .utf8)
    }

    func write(plugin name: String, _ source: String) throws {
        try source.write(to: root.appendingPathComponent("plugins/\(name).lua"), atomically: true, encoding: .utf8)
    }

    /// Loads scripts/ and activates what compiles; returns the load result.
    @discardableResult
    func load() throws -> ScriptDirectory.LoadResult {
        var dir = ScriptDirectory(root: root)
        dir.limits = settings.limits
        let result = dir.load(services: services)
        try Registry().activate(result.workflows, errors: result.errors, retireMissing: true, conn: conn)
        return result
    }

    @discardableResult
    func send(_ name: String, _ data: JSONValue = [:], id: String? = nil) throws -> String {
        try EventStore().send([EventStore.Event(name: name, data: data, id: id)], conn: conn).first ?? ""
    }

    var worker: Worker {
        if let workerInstance { return workerInstance }
        let w = Worker(url: url, settings: settings, services: services,
                       leases: LeaseKeeper(ownerID: "test", leaseSeconds: settings.leaseSeconds),
                       wake: WakeSignal(), stop: StopFlag())
        workerInstance = w
        return w
    }

    /// Processes batches until nothing is due now. Returns the number of runs processed.
    @discardableResult
    func drain(maxBatches: Int = 1000) throws -> Int {
        let c = try PGConnection(url: url)
        defer { c.close() }
        var total = 0
        for _ in 0..<maxBatches {
            let n = try worker.processBatch(c)
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Drains until `condition` holds or `timeout` passes (for sleeps, retries with backoff, waits).
    func drain(until timeout: Double = 10, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            try drain()
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        try drain()
    }

    func runs(function: String? = nil) throws -> [PGRow] {
        try conn.query("SELECT * FROM blacklight.runs WHERE $1::text IS NULL OR function_id = $1 ORDER BY id",
                       [function.map { .text($0) } ?? .null]).rows
    }

    func run(_ id: String) throws -> PGRow? {
        try conn.query("SELECT * FROM blacklight.runs WHERE id = $1", [.text(id)]).rows.first
    }

    func onlyRun(_ function: String) throws -> PGRow {
        let all = try runs(function: function)
        guard all.count == 1 else { let kinds = all.prefix(4).map { "\($0["kind"].stringValue ?? "?")/\($0["status"].stringValue ?? "?")/\($0["parent_run_id"].stringValue ?? "-")/\($0["error"].jsonText ?? "")" }
            throw EngineError(.notFound, "expected one run of \(function), found \(all.count): \(kinds)") }
        return all[0]
    }

    func steps(_ runID: String) throws -> [PGRow] {
        try conn.query("SELECT * FROM blacklight.steps WHERE run_id = $1 ORDER BY seq, key", [.text(runID)]).rows
    }

    func output(_ row: PGRow) -> JSONValue? {
        row["output"].jsonText.flatMap { try? JSONValue.parse($0) }
    }

    func error(_ row: PGRow) -> JSONValue? {
        row["error"].jsonText.flatMap { try? JSONValue.parse($0) }
    }

    func scalar(_ sql: String, _ params: [PGValue] = []) throws -> PGValue {
        try conn.query(sql, params).rows.first?[0] ?? .null
    }

    /// The built `blacklight` executable next to the test bundle.
    static var executable: URL {
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
