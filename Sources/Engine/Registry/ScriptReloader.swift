import Foundation
import Logging
import PGStore

/// Loads a project's scripts and makes them active: at start, on every quiet burst of file changes
/// (`blacklight dev`, `serve --watch`), and on `deploy`.
public final class ScriptReloader: @unchecked Sendable {
    public let directory: ScriptDirectory
    let url: String
    let services: HostServices
    private var conn: PGConnection?
    private let lock = NSLock()

    public init(directory: ScriptDirectory, url: String, services: HostServices) {
        self.directory = directory
        self.url = url
        self.services = services
    }

    public struct Report: Sendable {
        public var changes: [Registry.Change]
        public var errors: [ScriptLoadError]
        public var seconds: Double
    }

    /// Compiles everything, activates what compiled, records what did not (the previous version of a
    /// broken script stays active), and retires functions whose script is gone.
    @discardableResult
    public func reload() throws -> Report {
        lock.lock()
        defer { lock.unlock() }
        let start = Date()
        let result = directory.load(services: services)
        if conn == nil || conn?.isOpen == false { conn = try PGConnection(url: url) }
        guard let conn else { throw EngineError(.database, "no database connection") }
        let changes: [Registry.Change]
        do {
            changes = try Registry().activate(result.workflows, errors: result.errors, retireMissing: true, conn: conn)
        } catch {
            self.conn?.close()
            self.conn = nil
            throw error
        }
        let log = services.log
        for change in changes where change.kind != .unchanged {
            log.info("function \(change.functionID): \(change.kind.rawValue)\(change.version.map { " (version \($0))" } ?? "")")
        }
        for error in result.errors {
            log.error("script not loaded, previous version stays active: \(error)")
        }
        return Report(changes: changes, errors: result.errors, seconds: Date().timeIntervalSince(start))
    }

    /// Watches scripts/ and plugins/ until `stop`, reloading after each quiet burst of edits.
    public func watch(stop: StopFlag, onWatching: () -> Void = {}) {
        let watcher = ScriptWatcher(
            folders: [directory.root.appendingPathComponent(directory.scriptsFolder),
                      directory.root.appendingPathComponent(directory.pluginsFolder)],
            log: services.log)
        services.log.info("watching \(directory.scriptsFolder)/ and \(directory.pluginsFolder)/ for changes")
        watcher.run(stop: stop, onWatching: onWatching) {
            do {
                try reload()
            } catch {
                services.log.error("reload failed: \(error)")
            }
        }
    }
}

extension Registry {
    /// What `activate` would change, without writing (for `deploy --dry-run`).
    public func diff(_ workflows: [LoadedWorkflow], conn: PGConnection) throws -> [Change] {
        let rows = try conn.query("SELECT id, active_version FROM blacklight.functions").rows
        var active: [String: String?] = [:]
        for row in rows { active[row["id"].stringValue ?? ""] = row["active_version"].stringValue }
        var changes: [Change] = []
        for workflow in workflows {
            let id = workflow.definition.id, hash = workflow.bundle.hash
            switch active[id] {
            case nil: changes.append(Change(functionID: id, kind: .added, version: hash))
            case .some(let current) where current == hash: changes.append(Change(functionID: id, kind: .unchanged, version: hash))
            default: changes.append(Change(functionID: id, kind: .updated, version: hash))
            }
        }
        let ids = Set(workflows.map(\.definition.id))
        for (id, version) in active where version != nil && !ids.contains(id) {
            changes.append(Change(functionID: id, kind: .retired, version: nil))
        }
        return changes.sorted { $0.functionID < $1.functionID }
    }
}
