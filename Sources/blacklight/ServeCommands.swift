import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import Server

struct DevCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run everything locally: the embedded PostgreSQL (unless DATABASE_URL is set), migrations, scripts, workers and cron.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @Flag(name: .customLong("no-demo"), help: "Do not load the demo data set on first start.") var noDemo = false
    @OptionGroup var http: HTTPOptions

    func run() throws {
        try serve(project: project, workers: workers, scheduler: true, loadScripts: true, watch: true, demo: !noDemo,
                  http: http.options(dev: true, defaultHost: "127.0.0.1"))
    }
}

/// Where the HTTP server (event API, REST API, dashboard, metrics) listens.
struct HTTPOptions: ParsableArguments {
    @Option(help: "HTTP port (event API, REST API, dashboard, metrics).") var port = 8288
    @Option(help: "Address to listen on (dev, and serve with INNGEST_DEV=1: 127.0.0.1; serve: 0.0.0.0).") var host: String?
    @Option(help: "Events the event API queues in memory for the database; past it requests get 503.")
    var maxQueuedEvents = ServerOptions().maxQueuedEvents

    func options(dev: Bool, defaultHost: String) -> ServerOptions {
        options(base: ServerOptions.fromEnvironment(dev: dev), defaultHost: defaultHost)
    }

    func options(base: ServerOptions, defaultHost: String) -> ServerOptions {
        var o = base
        o.port = port
        o.host = host ?? defaultHost
        o.maxQueuedEvents = max(1, maxQueuedEvents)
        return o
    }
}

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load scripts/, then run workers, the cron scheduler and the HTTP server.",
        discussion: "Needs INNGEST_EVENT_KEY and INNGEST_SIGNING_KEY, or INNGEST_DEV=1 for the dev server's rules (no keys, loopback only).")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @Flag(help: "Watch scripts/ and plugins/ and activate edits at once.") var watch = false
    @OptionGroup var lease: LeaseOptions
    @OptionGroup var http: HTTPOptions

    func run() throws {
        // Fails closed: without both keys (and without INNGEST_DEV=1) nothing starts, not even the database work.
        let options = try http.options(base: ServerOptions.forServe(), defaultHost: ServerOptions.devRequested() ? "127.0.0.1" : "0.0.0.0")
        if options.dev {
            project.logger.warning("INNGEST_DEV=1: serve runs with the dev server's rules: no keys, loopback requests only")
        }
        try serve(project: project, workers: workers, scheduler: true, loadScripts: true, watch: watch,
                  leaseSeconds: lease.leaseSeconds, http: options)
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run workers only (versions come from the database).")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Worker threads.") var workers = 2
    @Option(help: "Runs claimed per batch transaction.") var batchSize = 100
    @OptionGroup var lease: LeaseOptions

    func run() throws {
        try serve(project: project, workers: workers, scheduler: false, loadScripts: false, batchSize: batchSize,
                  leaseSeconds: lease.leaseSeconds)
    }
}

/// How long a claimed run stays leased without a heartbeat: after a worker dies (or loses the database) its runs
/// wait this long before another worker takes them. Shorter recovers sooner but needs a heartbeat that gets through
/// sooner too; tests and the chaos bench shorten it.
struct LeaseOptions: ParsableArguments {
    @Option(help: "Seconds a claimed run stays leased without a heartbeat.") var leaseSeconds = WorkerSettings().leaseSeconds

    func validate() throws {
        guard leaseSeconds >= 1 else { throw ValidationError("--lease-seconds must be at least 1") }
    }
}

private func serve(project: ProjectOptions, workers: Int, scheduler: Bool, loadScripts: Bool, watch: Bool = false,
                   batchSize: Int = 100, leaseSeconds: Double = WorkerSettings().leaseSeconds, demo: Bool = false,
                   http: ServerOptions? = nil) throws {
    let log = project.logger
    let (url, cluster) = try project.database()
    defer { cluster?.stop() }
    let applied = try project.migrate(url)
    if !applied.isEmpty { log.info("applied migrations \(applied.map(String.init).joined(separator: ", "))") }
    let reloader = ScriptReloader(directory: ScriptDirectory(root: project.root), url: url, services: project.services)
    if loadScripts { try reloader.reload() }
    if demo { try loadDemoOnFirstStart(project: project, url: url) }
    var options = EngineProcess.Options()
    options.workers = max(1, workers)
    options.scheduler = scheduler
    // The processes that run cron also prune; `worker` processes leave both to them.
    if scheduler { options.retention = try retention() }
    options.worker.batchSize = max(1, batchSize)
    options.worker.leaseSeconds = leaseSeconds
    // BLACKLIGHT_LEASE_SECONDS overrides it for child processes that tests and benches start.
    if let lease = ProcessInfo.processInfo.environment["BLACKLIGHT_LEASE_SECONDS"].flatMap(Double.init), lease.isFinite, lease >= 0.5 {
        options.worker.leaseSeconds = min(lease, 3600)
    }
    options.services = project.services
    let process = EngineProcess(url: url, options: options)
    let watching = StopFlag()
    if watch {
        Thread.detachNewThread { reloader.watch(stop: watching) }
    }
    defer { watching.stop() }
    if var http {
        http.logger = log
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

/// `BLACKLIGHT_RETENTION` (default 30d, `off` disables the pruner).
private func retention() throws -> Double? {
    do {
        return try RetentionPolicy.parse(ProcessInfo.processInfo.environment["BLACKLIGHT_RETENTION"])
    } catch let error as EngineError {
        throw ValidationError(error.message)
    }
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

/// On the first start of `dev` (no jobs yet) loads the demo data and sends the events that make
/// matches appear, so a newcomer sees the workflows at work.
private func loadDemoOnFirstStart(project: ProjectOptions, url: String) throws {
    let log = project.logger
    let conn = try PGConnection(url: url)
    defer { conn.close() }
    guard try conn.query("SELECT count(*) FROM job_postings").rows.first?[0].intValue == 0 else { return }
    guard let dir = ONetData.locate(from: project.root) else {
        log.warning("demo data not loaded: the data/ folder (O*NET, SkillSpan) was not found next to the project or the executable (set BLACKLIGHT_DATA_DIR)")
        return
    }
    let demo = DemoData(data: try ONetData.load(dir))
    let roles = try demo.insertRoles(conn)
    let jobs = try demo.insertJobs(conn, roleIDs: roles, count: 800, roleCount: 40)
    let provider = EmbeddingProvider.fromEnvironment(root: project.root)
    try provider.recordEmbedder(on: conn)
    let candidates = try demo.insertCandidates(conn, roleIDs: roles, count: 300, roleCount: 40) { text, skills in
        (try? provider.embed([(text, skills)]).first?.values) ?? []
    }
    var events: [EventStore.Event] = []
    for start in stride(from: 0, to: jobs.count, by: 200) {
        let ids = jobs[start..<min(jobs.count, start + 200)].map { JSONValue.int($0) }
        events.append(EventStore.Event(name: "jobs/imported", data: ["job_ids": .array(ids), "batch_id": .string("demo-\(start / 200)"),
                                                                   "source": "demo"]))
    }
    for id in candidates.prefix(10) {
        events.append(EventStore.Event(name: "job-match/generate-candidate",
                                       data: ["candidate_id": .int(id), "tenant_id": "demo", "trigger": "manual"]))
    }
    _ = try EventStore().send(events, conn: conn)
    log.info("demo data loaded: \(roles.count) O*NET roles, \(jobs.count) jobs, \(candidates.count) candidates; matching events sent")
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
