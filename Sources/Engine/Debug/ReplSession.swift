import BlacklightCore
import Foundation
import LuaHost
import PGStore

/// `blacklight repl` without its terminal: evaluates Lua chunks and `:commands` against one
/// database and writes what a person should see through `out`. The CLI adds line editing.
///
/// Safe by default: the session's connection is read-only (`default_transaction_read_only`); only
/// `db.exec`, `:try` (always rolled back), `:rerun-step` (until `:commit`), `:resume` and `:reload`
/// write, each on its own transaction.
public final class ReplSession {
    let url: String
    let root: URL
    let services: HostServices
    let limits: LuaVM.Limits
    let out: (String) -> Void
    let conn: PGConnection
    let console: ConsoleVM
    var replay: ReplayState?
    /// `:break` points, kept across replays (and settable before the first).
    var breakpoints: Set<String> = []
    /// A step re-executed by `:rerun-step`, its transaction still open.
    var pendingRerun: PendingRerun?
    /// Set by `:quit`.
    public internal(set) var finished = false

    public init(url: String, root: URL, services: HostServices, limits: LuaVM.Limits = .init(),
                out: @escaping (String) -> Void) throws {
        self.url = url
        self.root = root
        self.services = services
        self.limits = limits
        self.out = out
        conn = try PGConnection(url: url)
        try conn.exec("SET default_transaction_read_only = on")
        try conn.exec("SET application_name = 'blacklight repl'")
        console = try ConsoleVM(conn: conn, root: root, services: services, limits: limits, out: out)
    }

    /// Which database this is, for the greeting.
    public func connectionDescription() -> String {
        let row = try? conn.query("SELECT current_database() AS db, current_user AS usr, inet_server_addr()::text AS host, "
                                  + "inet_server_port() AS port, current_setting('server_version') AS version").rows.first
        let db = row?["db"].stringValue ?? "?"
        let user = row?["usr"].stringValue ?? "?"
        let host = row?["host"].stringValue.map { $0.replacingOccurrences(of: "/32", with: "") } ?? "local socket"
        let port = row?["port"].intValue.map { ":\($0)" } ?? ""
        return "database \(db) as \(user) on \(host)\(port) (PostgreSQL \(row?["version"].stringValue ?? "?"))"
    }

    public var prompt: String {
        if let replay, let pause = replay.pausedAt { return "replay \(pause.key)> " }
        if pendingRerun != nil { return "bl (uncommitted)> " }
        return "bl> "
    }

    public var continuationPrompt: String { "..> " }

    /// True when `chunk` is unfinished Lua (the next line continues it).
    public func needsMore(_ chunk: String) -> Bool {
        let trimmed = chunk.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.hasPrefix(":") { return false }
        return console.isIncomplete(chunk)
    }

    /// Evaluates one chunk or command and prints the outcome. Returns false when it failed.
    @discardableResult
    public func submit(_ chunk: String) -> Bool {
        let trimmed = chunk.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return true }
        if trimmed.hasPrefix(":") { return command(trimmed) }
        var source = trimmed
        if source.hasPrefix("=") { source = "return " + source.dropFirst() }  // Lua 5.1 habit
        let result: ConsoleTools.Result
        if let replay, !replay.isOver {
            result = replay.evaluate(source)
        } else {
            result = console.evaluate(source)
        }
        return show(result)
    }

    func show(_ result: ConsoleTools.Result) -> Bool {
        switch result {
        case .values(let text, let count):
            if count > 0 { out(text) }
            return true
        case .incomplete:
            out("error: incomplete chunk (unexpected end of input)")
            return false
        case .error(let message):
            out("error: " + message)
            return false
        }
    }

    /// Ends everything the session holds open; an uncommitted re-run is rolled back.
    public func close() {
        if let pendingRerun {
            pendingRerun.batch.rollback()
            pendingRerun.batch.conn.close()
            self.pendingRerun = nil
            out("the re-run of step '\(pendingRerun.key)' was not committed: rolled back")
        }
        replay?.end()
        replay = nil
        conn.close()
    }

    func fail(_ message: String) -> Bool {
        out("error: " + message)
        return false
    }
}

/// A `:rerun-step` whose transaction waits for `:commit` or `:rollback`.
struct PendingRerun {
    var runID: String
    var key: String
    var batch: Batch
}
