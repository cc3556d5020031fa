import Foundation
import LuaHost
import PGStore

/// `blacklight bench reload`: time from a file save to the new version being active (through the
/// inotify watcher), and from a deploy to every worker having swapped (NOTIFY received, active
/// version read, new version compiled into the worker's VM cache).
public enum ReloadBenchmark {
    public static func run(url: String, rounds: Int, workers: Int, services: HostServices, log: (String) -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-bench-reload-\(getpid())")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("plugins"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        func source(_ n: Int) -> String {
            """
            -- revision \(n)
            return workflow {
              id = "reload-bench",
              triggers = { { event = "bench/reload" }, { cron = "*/\(n % 50 + 5) * * * *" } },
              run = function(ctx, step) return step.run("v", function() return \(n) end) end,
            }
            """
        }
        let file = root.appendingPathComponent("scripts/bench.lua")
        try source(0).write(to: file, atomically: true, encoding: .utf8)
        let directory = ScriptDirectory(root: root)
        let reloader = ScriptReloader(directory: directory, url: url, services: services)
        try reloader.reload()
        let probe = try PGConnection(url: url)
        defer { probe.close() }
        func active() throws -> String? {
            try probe.query("SELECT active_version FROM blacklight.functions WHERE id = 'reload-bench'").rows.first?["active_version"].stringValue
        }

        // 1. Save → active, through the watcher.
        let stop = StopFlag()
        Thread.detachNewThread { reloader.watch(stop: stop) }
        Thread.sleep(forTimeInterval: 0.2)
        var saves: [Double] = []
        for n in 1...rounds {
            let text = source(n)
            let expected = ScriptBundle(file: "scripts/bench.lua", source: text).hash
            let start = Date()
            try text.write(to: file, atomically: true, encoding: .utf8)  // write + rename, as editors do
            while try active() != expected {
                if Date().timeIntervalSince(start) > 10 { throw EngineError(.config, "the save was not picked up within 10 s") }
                Thread.sleep(forTimeInterval: 0.001)
            }
            saves.append(Date().timeIntervalSince(start) * 1000)
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop.stop()
        log(summary("save → active (watcher)", saves))

        // 2. Deploy → every worker swapped.
        let group = DispatchGroup()
        let done = StopFlag()
        let board = SwapBoard(workers: workers)
        for w in 0..<workers {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let conn = try PGConnection(url: url)
                    defer { conn.close() }
                    try conn.listen("blacklight_functions")
                    let cache = VersionCache(services: services, limits: LuaVM.Limits())
                    board.ready()
                    while !done.isStopped {
                        guard try !conn.waitForNotifications(timeout: 0.1).isEmpty else { continue }
                        let version = try conn.query("SELECT active_version FROM blacklight.functions WHERE id = 'reload-bench'")
                            .rows.first?["active_version"].stringValue ?? ""
                        _ = try cache.vm(function: "reload-bench", version: version, conn: conn)
                        board.swapped(worker: w, version: version)
                    }
                } catch {
                    board.fail("\(error)")
                }
            }
        }
        board.waitReady()
        let deployer = try PGConnection(url: url)
        defer { deployer.close() }
        var deploys: [Double] = []
        for n in (rounds + 1)...(2 * rounds) {
            try source(n).write(to: file, atomically: true, encoding: .utf8)
            let loaded = directory.load(services: services)
            let expected = loaded.workflows.first?.bundle.hash ?? ""
            let start = Date()
            try Registry().activate(loaded.workflows, errors: [], retireMissing: true, conn: deployer)
            while !board.allSwapped(to: expected) {
                if let failure = board.failure { throw EngineError(.database, failure) }
                if Date().timeIntervalSince(start) > 10 { throw EngineError(.config, "workers did not swap within 10 s") }
                Thread.sleep(forTimeInterval: 0.0005)
            }
            deploys.append(Date().timeIntervalSince(start) * 1000)
        }
        done.stop()
        group.wait()
        log(summary("deploy → all \(workers) workers swapped", deploys))
    }

    static func summary(_ label: String, _ ms: [Double]) -> String {
        let sorted = ms.sorted()
        let p50 = sorted[sorted.count / 2]
        return String(format: "%@: %d rounds, p50 %.1f ms, max %.1f ms", label, sorted.count, p50, sorted.last ?? 0)
    }
}

private final class SwapBoard: @unchecked Sendable {
    private let lock = NSCondition()
    private var versions: [String]
    private var readyCount = 0
    private(set) var failure: String?

    init(workers: Int) { versions = Array(repeating: "", count: workers) }

    func ready() { lock.lock(); readyCount += 1; lock.broadcast(); lock.unlock() }
    func waitReady() { lock.lock(); while readyCount < versions.count && failure == nil { lock.wait() }; lock.unlock() }
    func swapped(worker: Int, version: String) { lock.lock(); versions[worker] = version; lock.unlock() }
    func fail(_ message: String) { lock.lock(); failure = message; lock.broadcast(); lock.unlock() }
    func allSwapped(to version: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return versions.allSatisfy { $0 == version }
    }
}
