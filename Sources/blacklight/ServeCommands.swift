import ArgumentParser
import Engine
import Foundation
import PGStore
import Server

struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run everything locally: the embedded PostgreSQL (unless DATABASE_URL is set), migrations, scripts, workers and cron.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @OptionGroup var http: HTTPOptions

    func run() throws {
        try serve(project: project, workers: workers, scheduler: true, loadScripts: true,
                  http: http.options(dev: true, defaultHost: "127.0.0.1"))
    }
}

/// Where the HTTP server (event API, REST API, dashboard, metrics) listens.
struct HTTPOptions: ParsableArguments {
    @Option(help: "HTTP port (event API, REST API, dashboard, metrics).") var port = 8288
    @Option(help: "Address to listen on (dev: 127.0.0.1, serve: 0.0.0.0).") var host: String?

    func options(dev: Bool, defaultHost: String) -> ServerOptions {
        var o = ServerOptions.fromEnvironment(dev: dev)
        o.port = port
        o.host = host ?? defaultHost
        return o
    }
}

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Load scripts/, then run workers and the cron scheduler.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @OptionGroup var http: HTTPOptions

    func run() throws {
        try serve(project: project, workers: workers, scheduler: true, loadScripts: true,
                  http: http.options(dev: false, defaultHost: "0.0.0.0"))
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run workers only (versions come from the database).")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2

    func run() throws {
        try serve(project: project, workers: workers, scheduler: false, loadScripts: false)
    }
}

private func serve(project: ProjectOptions, workers: Int, scheduler: Bool, loadScripts: Bool, http: ServerOptions? = nil) throws {
    let log = project.logger
    let (url, cluster) = try project.database()
    defer { cluster?.stop() }
    let applied = try project.migrate(url)
    if !applied.isEmpty { log.info("applied migrations \(applied.map(String.init).joined(separator: ", "))") }
    if loadScripts { _ = try project.loadScripts(url, log: log) }
    var options = EngineProcess.Options()
    options.workers = max(1, workers)
    options.scheduler = scheduler
    options.services = project.services
    let process = EngineProcess(url: url, options: options)
    if var http {
        http.logger = log
        if !http.dev && http.eventKeys.isEmpty {
            log.warning("INNGEST_EVENT_KEY is not set: the event API accepts any key")
        }
        if !http.dev && http.signingKey == nil {
            log.warning("INNGEST_SIGNING_KEY is not set: the REST API and dashboard refuse every request")
        }
        let host = http.host
        let app = BlacklightServer.buildApplication(
            databaseURL: url, options: http, services: [EngineService(process: process, log: log)],
            onServerRunning: { port in
                log.info("blacklight is running (\(workers) workers\(scheduler ? ", cron" : "")) on \(redacted(url)); http://\(host):\(port); Ctrl-C stops")
            })
        // SIGTERM/SIGINT: the server stops accepting, the database pool closes, the engine finishes its leased runs.
        try runBlocking { try await app.runService() }
        log.info("stopped")
        return
    }
    process.start()
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

/// Runs async work from a synchronous command and waits for it.
func runBlocking(_ body: @escaping @Sendable () async throws -> Void) throws {
    let done = DispatchSemaphore(value: 0)
    let box = ErrorBox()
    Task.detached {
        do { try await body() } catch { box.set(error) }
        done.signal()
    }
    done.wait()
    if let error = box.value { throw error }
}
