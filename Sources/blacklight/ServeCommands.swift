import ArgumentParser
import Engine
import Foundation
import PGStore

struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run everything locally: the embedded PostgreSQL (unless DATABASE_URL is set), migrations, scripts, workers and cron.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2

    func run() throws {
        try serve(project: project, workers: workers, scheduler: true, loadScripts: true, watch: true)
    }
}

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Load scripts/, then run workers and the cron scheduler.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @Flag(help: "Watch scripts/ and plugins/ and activate edits at once.") var watch = false

    func run() throws {
        try serve(project: project, workers: workers, scheduler: true, loadScripts: true, watch: watch)
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run workers only (versions come from the database).")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @Option(help: "Runs claimed per batch transaction.") var batchSize = 100

    func run() throws {
        try serve(project: project, workers: workers, scheduler: false, loadScripts: false, batchSize: batchSize)
    }
}

private func serve(project: ProjectOptions, workers: Int, scheduler: Bool, loadScripts: Bool, watch: Bool = false,
                   batchSize: Int = 100) throws {
    let log = project.logger
    let (url, cluster) = try project.database()
    defer { cluster?.stop() }
    let applied = try project.migrate(url)
    if !applied.isEmpty { log.info("applied migrations \(applied.map(String.init).joined(separator: ", "))") }
    let reloader = ScriptReloader(directory: ScriptDirectory(root: project.root), url: url, services: project.services)
    if loadScripts { try reloader.reload() }
    var options = EngineProcess.Options()
    options.workers = max(1, workers)
    options.scheduler = scheduler
    options.worker.batchSize = max(1, batchSize)
    options.services = project.services
    let process = EngineProcess(url: url, options: options)
    process.start()
    let watching = StopFlag()
    if watch {
        Thread.detachNewThread { reloader.watch(stop: watching) }
    }
    defer { watching.stop() }
    log.info("blacklight is running (\(workers) workers\(scheduler ? ", cron" : "")) on \(redacted(url)); Ctrl-C stops")
    waitForTermination()
    log.info("stopping: finishing leased runs")
    process.stop()
}

/// A URL without its password, for logs.
func redacted(_ url: String) -> String {
    guard var parts = URLComponents(string: url) else { return url }
    if parts.password != nil { parts.password = "***" }
    return parts.string ?? url
}

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply the engine's SQL migrations.")

    @OptionGroup var project: ProjectOptions

    func run() throws {
        let (url, cluster) = try project.database()
        defer { cluster?.stop() }
        let applied = try project.migrate(url)
        print(applied.isEmpty ? "database is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
    }
}
