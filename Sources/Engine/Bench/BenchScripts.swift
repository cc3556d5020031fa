import Foundation
import PGStore

/// A benchmark's own workflows, written to a scratch scripts folder, loaded and activated as `deploy` would.
enum BenchScripts {
    /// Activates `scripts` (file name → Lua source). A script that does not load stops the benchmark with its file and
    /// line. `retireMissing` as in `Registry.activate`: false keeps the functions already registered (an app's).
    static func activate(_ scripts: [String: String], label: String, retireMissing: Bool = true, conn: PGConnection,
                         services: HostServices) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-bench-\(label)-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, source) in scripts {
            try source.write(to: dir.appendingPathComponent("scripts/\(name)"), atomically: true, encoding: .utf8)
        }
        let loaded = ScriptDirectory(root: dir).load(services: services)
        guard loaded.errors.isEmpty else { throw EngineError(.script, "bench scripts failed: \(loaded.errors)") }
        try Registry().activate(loaded.workflows, errors: [], retireMissing: retireMissing, conn: conn)
    }

    /// The active version of `function`, which `activate` registered.
    static func activeVersion(of function: String, conn: PGConnection) throws -> String {
        guard let version = try conn.query("SELECT active_version FROM blacklight.functions WHERE id = $1", [.text(function)])
            .scalar.stringValue else { throw EngineError(.notFound, "bench function \(function) was not activated") }
        return version
    }
}

extension EngineProcess {
    /// Workers only (no scheduler), as the benchmarks run them beside their load; started, to be stopped by the caller.
    static func startedForBench(url: String, workers: Int, batchSize: Int, services: HostServices) -> EngineProcess {
        var options = EngineProcess.Options()
        options.workers = workers
        options.scheduler = false
        options.worker.batchSize = batchSize
        options.services = services
        let engine = EngineProcess(url: url, options: options)
        engine.start()
        return engine
    }
}
