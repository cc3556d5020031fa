import Foundation
import Synchronization

/// A private PostgreSQL cluster run with the installed server programs, for tests and `blacklight dev`.
///
/// Layout of `directory`: `data/` (the cluster), `socket/` (its Unix socket), `server.log`, and `port` (the
/// port last used, so a restart reuses it while it is free). The server listens on 127.0.0.1 only, trusts local
/// connections, and has superuser `blacklight`. fsync stays on: what runs here is durable as shipped.
///
/// Not stopped on deinit: a caller that only keeps the URL must not lose its server. Call `stop()` on every exit
/// path (it is idempotent and spawns no process, so an atexit hook or a signal-handling thread may call it).
public final class EmbeddedCluster: Sendable {
    public let directory: URL
    private let requestedPort: Int?
    private let requestedUser: String?
    private let settings: [String: String]
    private let state = Mutex(State())

    private struct State {
        var port: Int?
    }

    /// - Parameters:
    ///   - port: nil picks a free port on 127.0.0.1 (reusing the one stored in `directory` if it is free).
    ///   - osUser: nil runs the server as the current user, or, when that is root, as "postgres" or a created
    ///     "blacklight" system user.
    ///   - settings: extra server settings passed as `-c name=value` (e.g. `["max_connections": "300"]`).
    public init(directory: URL, port: Int? = nil, osUser: String? = nil, settings: [String: String] = [:]) {
        self.directory = directory.standardizedFileURL
        self.requestedPort = port
        self.requestedUser = osUser
        self.settings = settings
    }

    var dataDirectory: URL { directory.appendingPathComponent("data") }
    var socketDirectory: URL { directory.appendingPathComponent("socket") }
    var logFile: URL { directory.appendingPathComponent("server.log") }
    private var portFile: URL { directory.appendingPathComponent("port") }
    private var pidFile: URL { dataDirectory.appendingPathComponent("postmaster.pid") }

    /// The port the server listens on (the requested or stored one before `start()`, 0 if none yet).
    public var port: Int {
        state.withLock { $0.port } ?? requestedPort ?? Self.readPort(portFile) ?? 0
    }

    /// Whether a server is running on this cluster directory (ours, or one left by an earlier process).
    public var isRunning: Bool { runningPID() != nil }

    /// `postgresql://blacklight@127.0.0.1:PORT/DATABASE`.
    public func url(database: String = "postgres") -> String {
        "postgresql://blacklight@127.0.0.1:\(port)/\(database)"
    }

    /// The same database over the Unix socket, which skips TCP and is a little faster for local clients.
    public func socketURL(database: String = "postgres") -> String {
        let host = socketDirectory.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return "postgresql://blacklight@/\(database)?host=\(host)&port=\(port)"
    }

    /// Creates the cluster on first use (initdb), then starts the server and waits until it accepts connections.
    /// Does nothing if this object already started it. A server left running by a crashed earlier process is
    /// stopped and started afresh; a stale postmaster.pid is removed.
    public func start() throws(PGError) {
        try state.withLock { (state: inout State) throws(PGError) in
            if state.port != nil, runningPID() != nil { return }
            let bin = try PostgresBinaries.locate()
            let user = try ClusterUser.resolve(requested: requestedUser)
            try prepareDirectory(user)
            if !FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
                try initdb(bin: bin, user: user)
            }
            try clearLeftovers(bin: bin, user: user)
            state.port = try launch(bin: bin, user: user)
        }
    }

    /// Stops the server (fast shutdown: running statements are cancelled, then a clean checkpoint), waiting until
    /// it has exited. Does nothing if it is not running.
    ///
    /// Equivalent to `pg_ctl stop -m fast` (SIGINT to the postmaster, then wait for postmaster.pid to go), done
    /// in-process so that it works from atexit, where spawning processes is not safe.
    public func stop() {
        state.withLock { state in
            Self.stopServer(pidFile: pidFile)
            state.port = nil
        }
    }

    /// Creates a database (name and template must match `[a-z0-9_]+`, up to 63 characters).
    public func createDatabase(_ name: String, template: String? = nil) throws(PGError) {
        try Self.validateName(name)
        if let template { try Self.validateName(template) }
        let conn = try PGConnection(url: url(database: "postgres"))
        defer { conn.close() }
        // Identifiers cannot be bound as parameters; the names are validated above and quoted as well.
        var sql = "CREATE DATABASE \(try conn.quoteIdentifier(name))"
        if let template { sql += " TEMPLATE \(try conn.quoteIdentifier(template))" }
        try conn.execScript(sql)
    }

    // MARK: - Steps of start()

    private func prepareDirectory(_ user: ClusterUser) throws(PGError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            try fm.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
        } catch {
            throw PGError(code: .clusterSetup, message: "cannot create \(directory.path): \(error)")
        }
        try user.checkCanReach(directory)
        if user.switches {
            for path in [directory.path, socketDirectory.path] where chown(path, user.uid, user.gid) != 0 {
                throw PGError(
                    code: .clusterSetup,
                    message: "cannot give \(path) to OS user '\(user.name)': \(PortPicker.errnoText())")
            }
            if fm.fileExists(atPath: logFile.path) { _ = chown(logFile.path, user.uid, user.gid) }
        }
        // PostgreSQL wants its directories private to its user.
        _ = chmod(directory.path, 0o700)
    }

    private func initdb(bin: String, user: ClusterUser) throws(PGError) {
        // A data folder without PG_VERSION is what an interrupted initdb leaves; initdb needs an empty one.
        try? FileManager.default.removeItem(at: dataDirectory)
        let outcome = try ProcessRunner.run(
            bin + "/initdb",
            ["-D", dataDirectory.path, "-A", "trust", "-U", "blacklight", "-E", "UTF8", "--no-locale",
             "--no-instructions"],
            asUser: user.switches ? user.name : nil, workingDirectory: directory)
        guard outcome.status == 0 else {
            throw PGError(code: .clusterSetup, message: "initdb failed in \(dataDirectory.path): \(outcome.output)")
        }
    }

    /// A postmaster.pid from an earlier run: if that server still runs, stop it (it may have other settings or an
    /// occupied port); otherwise remove the stale file and socket locks so a reused PID cannot block the start.
    private func clearLeftovers(bin: String, user: ClusterUser) throws(PGError) {
        guard FileManager.default.fileExists(atPath: pidFile.path) else { return }
        let status = try ProcessRunner.run(
            bin + "/pg_ctl", ["status", "-D", dataDirectory.path], asUser: user.switches ? user.name : nil,
            workingDirectory: directory)
        if status.status == 0 {
            Self.stopServer(pidFile: pidFile)
        } else {
            try? FileManager.default.removeItem(at: pidFile)
            let sockets = (try? FileManager.default.contentsOfDirectory(atPath: socketDirectory.path)) ?? []
            for name in sockets { try? FileManager.default.removeItem(at: socketDirectory.appendingPathComponent(name)) }
        }
    }

    /// Starts the server with pg_ctl; when the port was picked automatically and turns out taken, picks another.
    private func launch(bin: String, user: ClusterUser) throws(PGError) -> Int {
        var attempt = 0
        while true {
            attempt += 1
            let port = try choosePort(avoidStored: attempt > 1)
            try? String(port).write(to: portFile, atomically: true, encoding: .utf8)
            let logStart = (try? FileManager.default.attributesOfItem(atPath: logFile.path)[.size] as? Int) ?? 0
            let outcome = try ProcessRunner.run(
                bin + "/pg_ctl",
                ["start", "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-s",
                 "-o", serverOptions(port: port)],
                asUser: user.switches ? user.name : nil, workingDirectory: directory)
            if outcome.status == 0 { return port }
            let log = logTail(from: logStart)
            if requestedPort == nil, attempt < 3, log.contains("Address already in use") { continue }
            throw PGError(
                code: .clusterSetup,
                message: "PostgreSQL did not start on port \(port) (pg_ctl exit \(outcome.status)): "
                    + "\(outcome.output)\n\(log)")
        }
    }

    private func choosePort(avoidStored: Bool) throws(PGError) -> Int {
        if let requestedPort { return requestedPort }
        if !avoidStored, let stored = Self.readPort(portFile), PortPicker.isFree(stored) { return stored }
        return try PortPicker.freePort()
    }

    /// The `-o` string pg_ctl hands to /bin/sh when it execs postgres, so paths are single-quoted.
    private func serverOptions(port: Int) -> String {
        // Unix socket paths are limited to 107 bytes; past that, run TCP-only rather than fail to start.
        let socketPath = socketDirectory.path + "/.s.PGSQL.\(port)"
        let socketDir = socketPath.utf8.count < 100 ? socketDirectory.path : ""
        var options = "-p \(port) -k \(Self.shellQuoted(socketDir)) -c listen_addresses=127.0.0.1"
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            options += " -c \(Self.shellQuoted("\(name)=\(value)"))"
        }
        return options
    }

    private func logTail(from offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: logFile.path), data.count > offset else { return "" }
        let lines = String(decoding: data[offset...], as: UTF8.self).split(separator: "\n").suffix(15)
        return lines.joined(separator: "\n")
    }

    // MARK: - Process-free helpers (safe in atexit)

    /// The postmaster's PID if postmaster.pid names a live process.
    private func runningPID() -> pid_t? {
        guard let pid = Self.readPID(pidFile.path), kill(pid, 0) == 0 || errno == EPERM else { return nil }
        return pid
    }

    static func stopServer(pidFile: URL) {
        guard let pid = readPID(pidFile.path) else { return }
        guard kill(pid, 0) == 0 || errno == EPERM else { return }
        guard isPostgres(pid) else { return }
        _ = kill(pid, SIGINT)
        // Fast shutdown takes well under a second here; allow a minute (checkpoint on a slow disk) before
        // falling back to immediate shutdown, which needs crash recovery at the next start but never hangs.
        for i in 0..<6000 {
            if readPID(pidFile.path) != pid { return }
            if kill(pid, 0) != 0 && errno == ESRCH { return }
            if i == 5999 { _ = kill(pid, SIGQUIT) }
            usleep(10_000)
        }
    }

    /// Guards against a stale postmaster.pid whose PID now belongs to an unrelated process (Linux: /proc).
    private static func isPostgres(_ pid: pid_t) -> Bool {
        guard let comm = FileManager.default.contents(atPath: "/proc/\(pid)/comm") else { return true }
        return String(decoding: comm, as: UTF8.self).hasPrefix("postgres")
    }

    static func readPID(_ path: String) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: path),
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first
        else { return nil }
        return pid_t(line.trimmingCharacters(in: .whitespaces))
    }

    private static func readPort(_ url: URL) -> Int? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func validateName(_ name: String) throws(PGError) {
        let ok = !name.isEmpty && name.utf8.count <= 63
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard ok else {
            throw PGError(
                code: .invalidArgument, message: "invalid database name '\(name)': use [a-z0-9_], at most 63 characters")
        }
    }

    private static func shellQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
