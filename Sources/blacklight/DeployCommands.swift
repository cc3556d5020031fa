import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import PGStore

struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Validate every script bundle, then activate them all in one transaction (all or nothing).")

    @OptionGroup var project: ProjectOptions
    @Argument(help: "Project folder with scripts/ and plugins/ (default: --dir or the current folder).") var folder: String?
    @Flag(name: .customLong("dry-run"), help: "Only validate and show what would change.") var dryRun = false

    func run() throws {
        let root = folder.map { URL(fileURLWithPath: $0).standardizedFileURL } ?? project.root
        let loaded = ScriptDirectory(root: root).load(services: project.services)
        if !loaded.errors.isEmpty {
            for error in loaded.errors { print("error \(error)") }
            throw ExitCode(1)
        }
        let (url, cluster) = try project.database()
        defer { cluster?.stop() }
        _ = try project.migrate(url)
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let changes = dryRun
            ? try Registry().diff(loaded.workflows, conn: conn)
            : try Registry().activate(loaded.workflows, errors: [], retireMissing: true, conn: conn)
        for change in changes.sorted(by: { $0.functionID < $1.functionID }) {
            print("\(RunFormatting.pad(change.kind.rawValue, 9)) \(RunFormatting.pad(change.functionID, 30)) \(change.version ?? "-")")
        }
        let changed = changes.filter { $0.kind != .unchanged }.count
        print(dryRun ? "dry run: \(changed) change(s) would be made; nothing was activated" : "deployed: \(changed) change(s)")
    }
}

struct RollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback", abstract: "Reactivate an earlier version of a function.")

    @OptionGroup var project: ProjectOptions
    @Argument(help: "Function id.") var functionID: String
    @Option(help: "Version hash (or a prefix); default: the version before the active one.") var to: String?

    func run() throws {
        let db = try project.openDatabase()
        defer { db.close() }
        let conn = db.conn
        do {
            let version = try Registry().rollback(functionID, to: to, conn: conn)
            print("\(functionID): version \(version) is active")
        } catch let error as EngineError {
            throw ValidationError(error.message)
        }
    }
}

struct SchedulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedules", abstract: "Cron schedules: from scripts' triggers and created at run time.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every schedule with its next tick.")
        @OptionGroup var project: ProjectOptions

        func run() throws {
            let db = try project.openDatabase()
            defer { db.close() }
            let conn = db.conn
            print("SCHEDULE                        EXPRESSION        TARGET                          NEXT TICK")
            let iso = ISO8601DateFormatter()
            for s in try FunctionCatalog.schedules(conn: conn) {
                let next = s.next(after: Date()).map { iso.string(from: $0) } ?? "-"
                let target = s.functionID.map { "function \($0)" } ?? "event \(s.eventName ?? "")"
                let id = s.id.replacingOccurrences(of: "user:", with: "")
                print(RunFormatting.pad(id, 30) + "  " + RunFormatting.pad(s.expression, 16) + "  " + RunFormatting.pad(target, 30)
                      + "  " + next + (s.timezone.map { " (\($0))" } ?? ""))
                if let error = s.lastError {
                    print("  last error at \(s.lastErrorAt.map { iso.string(from: $0) } ?? "-"): \(error)")
                }
            }
        }
    }
}
