import ArgumentParser
import Engine
import Foundation
import PGStore

/// `blacklight bench idle`: what a `blacklight serve` with nothing to do costs: CPU of the process
/// (and of its PostgreSQL backends, when the server is local) and transactions per second.
struct IdleBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle", abstract: "CPU and queries per second of an idle `blacklight serve`.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Seconds to measure.") var seconds = 60.0
    @Option(help: "Seconds to let the server settle first (script load, first retention pass).") var warmup = 5.0
    @Option(help: "Worker threads of the served process.") var workers = 2

    func run() throws {
        try project.withScratchDatabase { url in try bench(url) }
    }

    private func bench(_ url: String) throws {
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-bench-idle-\(getpid()).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: logFile) }
        let out = try FileHandle(forWritingTo: logFile)
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["serve", "--database-url", url, "--dir", project.root.path, "--port", "0", "--host", "127.0.0.1",
                           "--workers", String(workers)]
        // A server of its own on loopback: the dev server's rules (no keys) instead of making up keys.
        child.environment = ProcessInfo.processInfo.environment.merging(["INNGEST_DEV": "1"]) { _, new in new }
        child.standardOutput = out
        child.standardError = out
        try child.run()
        defer {
            if child.isRunning { child.terminate() }
            child.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(120)
        while !(String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self).contains("blacklight is running")) {
            guard child.isRunning, Date() < deadline else {
                throw ValidationError("serve did not start: \(String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self))")
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Thread.sleep(forTimeInterval: warmup)

        let probe = try PGConnection(url: url)
        defer { probe.close() }
        let backends = try probe.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            .rows.compactMap { $0["pid"].intValue.map { Int32($0) } }
        let pid = child.processIdentifier
        let serve0 = Self.cpuSeconds(pid), pg0 = backends.compactMap(Self.cpuSeconds).reduce(0, +)
        let xact0 = try Self.transactions(probe)
        let start = Date()
        Thread.sleep(forTimeInterval: seconds)
        let elapsed = Date().timeIntervalSince(start)
        let xact1 = try Self.transactions(probe)
        let serve1 = Self.cpuSeconds(pid), pg1 = backends.compactMap(Self.cpuSeconds).reduce(0, +)

        print("blacklight bench idle — `blacklight serve` (\(workers) workers, cron, pruner, HTTP; scripts from \(project.root.path)) "
              + "with no events, for \(Int(seconds)) s")
        guard let serve0, let serve1 else { throw ValidationError("cannot read /proc/\(pid)/stat") }
        let serveCPU = serve1 - serve0
        print(String(format: "serve process: %.2f %% of a core (%.2f s CPU in %.1f s)", serveCPU / elapsed * 100, serveCPU, elapsed))
        if !backends.isEmpty {
            print(String(format: "its %d PostgreSQL backends: %.2f %% of a core", backends.count, (pg1 - pg0) / elapsed * 100))
        }
        print(String(format: "database: %.1f transactions/s (pg_stat_database xact_commit + xact_rollback; backends flush these counters "
                     + "at most every 1 s, idle ones after 10 s)", Double(xact1 - xact0) / elapsed))
    }

    /// utime + stime of a process (all its threads), in seconds; nil when /proc does not show it.
    static func cpuSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, utime 14, stime 15 (1-based over the whole line).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func transactions(_ conn: PGConnection) throws -> Int64 {
        try conn.exec("SELECT pg_stat_clear_snapshot()")
        return try conn.query("SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()")
            .scalar.intValue ?? 0
    }
}
