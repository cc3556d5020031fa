import ArgumentParser
import Engine
import Foundation
import PGStore

/// `blacklight bench chaos`: a mixed workload through one `serve` (HTTP ingest, cron, one worker thread) and
/// worker processes, while a worker process is SIGKILLed every few seconds (and started again) and PostgreSQL is
/// restarted; then it checks what the issue promises: no acknowledged event lost, no step applied twice.
///
/// It starts its own PostgreSQL cluster (in a temporary folder, with the embedded-cluster machinery of `dev`),
/// since it restarts it: a shared or `.blacklight/` cluster is never touched.
struct ChaosBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos", abstract: "Worker kills and PostgreSQL restarts under load: lost events, duplicate steps, latency.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Seconds of load and faults.") var seconds = 60
    @Option(help: "Events per second sent over HTTP (single-event requests).") var rate = 100
    @Option(help: "HTTP clients.") var clients = 4
    @Option(help: "Worker processes (each with one worker thread).") var workers = 2
    @Option(help: "Seconds between worker-process kills.") var killEvery = 5
    @Option(help: "PostgreSQL restarts, spread evenly over the run.") var postgresRestarts = 2
    @Option(help: "Run lease of serve and the workers: how long a killed worker's runs wait (30 s as shipped).")
    var leaseSeconds = 10.0

    func validate() throws {
        guard seconds >= 5, rate >= 1, clients >= 1, workers >= 1, killEvery >= 1, leaseSeconds >= 1 else {
            throw ValidationError("--seconds must be at least 5; --rate, --clients, --workers, --kill-every and --lease-seconds at least 1")
        }
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("blacklight-chaos-\(getpid())")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        let cluster = EmbeddedCluster(directory: dir.appendingPathComponent("pg"))
        defer {
            cluster.stop()
            try? FileManager.default.removeItem(at: dir)
        }
        try cluster.start()
        try cluster.createDatabase("chaos")
        let url = cluster.url(database: "chaos")
        _ = try project.migrate(url)
        let setup = try PGConnection(url: url)
        try setup.execScript(ChaosWorkflows.setupSQL)
        setup.close()
        for (name, source) in ChaosWorkflows.scripts {
            try source.write(to: dir.appendingPathComponent("scripts/\(name)"), atomically: true, encoding: .utf8)
        }

        let port = try PortPicker.forChildProcess()
        let common = ["--dir", dir.path, "--database-url", url, "--lease-seconds", "\(leaseSeconds)"]
        let serve = ChaosChild(["serve", "--port", "\(port)", "--host", "127.0.0.1", "--workers", "1"] + common,
                               logFile: dir.appendingPathComponent("serve.log"))
        let workerProcesses = (0..<workers).map { i in
            ChaosChild(["worker", "--workers", "1"] + common, logFile: dir.appendingPathComponent("worker-\(i).log"))
        }
        try serve.start()
        defer { serve.stop() }
        try waitForHealth(port: port)
        for w in workerProcesses { try w.start() }
        defer { workerProcesses.forEach { $0.stop() } }

        print("blacklight bench chaos — \(seconds) s, \(rate) events/s over HTTP from \(clients) clients; 1 serve + \(workers) worker "
              + "processes; a worker SIGKILLed every \(killEvery) s; PostgreSQL restarted \(postgresRestarts)×; lease \(leaseSeconds) s")
        let faults = FaultLog()
        let load = ChaosLoad(port: port, rate: rate, clients: clients)
        let start = Date()
        let restartsAt = (1...max(1, postgresRestarts)).map { Double(seconds) * Double($0) / Double(postgresRestarts + 1) }
        var nextKill = Double(killEvery), nextRestart = 0, victim = 0
        while Date().timeIntervalSince(start) < Double(seconds) {
            let t = Date().timeIntervalSince(start)
            if postgresRestarts > 0, nextRestart < restartsAt.count, t >= restartsAt[nextRestart] {
                nextRestart += 1
                let began = Date()
                cluster.stop()
                try cluster.start()
                faults.add(.postgresRestart, from: began, to: Date())
            } else if t >= nextKill {
                nextKill += Double(killEvery)
                let w = workerProcesses[victim % workerProcesses.count]
                victim += 1
                let began = Date()
                w.kill9()
                try w.start()
                faults.add(.workerKill, from: began, to: Date())
            } else {
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        let slowest = load.stop()
        let sent = Date()
        let report = try ChaosReport(url: url, acks: load.acks)
        try report.waitForRuns(timeout: 60 + 3 * leaseSeconds)
        let drained = Date().timeIntervalSince(sent)
        try report.print(statuses: load.statuses, slowestAnswer: slowest, drainSeconds: drained, faults: faults)
    }

    private func waitForHealth(port: Int) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let c = try? LoadClient(host: "127.0.0.1", port: port), (try? c.get(path: "/ready", host: "127.0.0.1"))?.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ValidationError("blacklight serve did not become ready on port \(port)")
    }
}

/// When each fault began and ended (PostgreSQL accepting again, the killed worker started again).
final class FaultLog {
    enum Kind { case workerKill, postgresRestart }
    struct Fault {
        let kind: Kind
        let from: Date
        let to: Date
    }
    private(set) var faults: [Fault] = []

    func add(_ kind: Kind, from: Date, to: Date) { faults.append(Fault(kind: kind, from: from, to: to)) }
}
