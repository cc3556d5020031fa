import ArgumentParser
import Engine
import Foundation
import Logging
import Matching
import PGStore

/// Options every command shares: where the project is and which database to use.
struct ProjectOptions: ParsableArguments {
    @Option(name: .customLong("dir"), help: "Project folder holding scripts/ and plugins/.")
    var directory: String = FileManager.default.currentDirectoryPath

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (default: $DATABASE_URL, else the embedded cluster under .blacklight/).")
    var databaseURL: String?

    @Flag(name: .long, help: "Log debug messages.")
    var verbose = false

    var root: URL { URL(fileURLWithPath: directory).standardizedFileURL }

    var logger: Logger {
        _ = loggingBootstrap
        var log = Logger(label: "blacklight")
        log.logLevel = verbose ? .debug : .info
        return log
    }

    var services: HostServices {
        var s = HostServices(log: logger)
        s.extensions = [MatchingExtension(provider: .fromEnvironment(root: root))]
        if let base = ProcessInfo.processInfo.environment["BLACKLIGHT_RETRY_BASE_DELAY"].flatMap(Double.init) {
            s.retryBaseDelay = base
        }
        return s
    }

    /// The database to use, starting the embedded cluster when no URL is configured. The returned
    /// cluster (if any) was started by this call and must be stopped by the caller.
    func database() throws -> (url: String, startedCluster: EmbeddedCluster?) {
        if let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return (url, nil)
        }
        let dir = root.appendingPathComponent(".blacklight/pg")
        let cluster = EmbeddedCluster(directory: dir)
        let wasRunning = cluster.isRunning
        try cluster.start()
        let admin = try PGConnection(url: cluster.url(database: "postgres"))
        let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = 'blacklight'").rows.isEmpty == false
        admin.close()
        if !exists { try cluster.createDatabase("blacklight") }
        return (cluster.url(database: "blacklight"), wasRunning ? nil : cluster)
    }

    /// A connection to the project's database (starting the embedded cluster if needed) for a
    /// command that runs once; `close()` also stops a cluster this call started.
    func openDatabase() throws -> ProjectDatabase {
        let (url, cluster) = try database()
        do {
            return ProjectDatabase(url: url, conn: try PGConnection(url: url), cluster: cluster)
        } catch {
            cluster?.stop()
            throw error
        }
    }

    /// Applies the engine's migrations; refuses a database newer than this build.
    func migrate(_ url: String) throws -> [Int] {
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let applied = try EngineMigrations.migrator().migrate(conn)
        _ = try AppSchema.migrator().migrate(conn)
        return applied
    }
}

/// Logs go to standard error, so command output on standard output stays clean for pipes.
let loggingBootstrap: Void = LoggingSystem.bootstrap(StreamLogHandler.standardError)

/// Blocks until SIGINT or SIGTERM.
func waitForTermination() {
    let semaphore = DispatchSemaphore(value: 0)
    var sources: [DispatchSourceSignal] = []
    for sig in [SIGINT, SIGTERM] {
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { semaphore.signal() }
        source.resume()
        sources.append(source)
    }
    semaphore.wait()
    _ = sources
}

/// An open connection plus the embedded cluster a command started for it.
final class ProjectDatabase {
    let url: String
    let conn: PGConnection
    private let cluster: EmbeddedCluster?

    init(url: String, conn: PGConnection, cluster: EmbeddedCluster?) {
        self.url = url
        self.conn = conn
        self.cluster = cluster
    }

    func close() {
        conn.close()
        cluster?.stop()
    }
}
