import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import PGStore

struct FunctionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions", abstract: "Inspect, pause and resume functions.",
        subcommands: [List.self, History.self, PauseFunctionCommand.self, ResumeFunctionCommand.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List functions with their active version and triggers, and scripts that failed to load.")
        @OptionGroup var project: ProjectOptions

        func run() throws {
            let db = try project.openDatabase()
            defer { db.close() }
            let conn = db.conn
            // Functions of Inngest SDK apps (kind http) show their app and its last sync where scripts show their file.
            let rows = try conn.query("""
                SELECT f.id, f.active_version, f.config, f.deployed_at, f.file, f.paused_at IS NOT NULL AS paused,
                       a.id AS app, a.synced_at FROM blacklight.functions f LEFT JOIN blacklight.apps a ON a.id = f.config->>'app'
                ORDER BY f.id
                """)
            print("FUNCTION                        VERSION           DEPLOYED              TRIGGERS")
            for row in rows.rows {
                let config = row["config"].jsonText.flatMap { try? JSONValue.parse($0) }
                let def = config.flatMap(WorkflowDefinition.init(config:))
                let triggers = (def?.triggers ?? []).map { t -> String in
                    switch t {
                    case .event(let name, _, _): return "event \(name)"
                    case .cron(let e, let tz, _): return "cron \(e)" + (tz.map { " \($0)" } ?? "")
                    }
                }.joined(separator: ", ")
                let version = row["active_version"].stringValue ?? "retired"
                let deployed = row["deployed_at"].dateValue.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
                var origin = row["file"].stringValue ?? ""
                if let app = row["app"].stringValue {
                    origin = "http, app \(app), synced " + (row["synced_at"].dateValue.map { ISO8601DateFormatter().string(from: $0) } ?? "-")
                }
                print(RunFormatting.pad(row["id"].stringValue ?? "", 30) + "  " + RunFormatting.pad(version, 16) + "  "
                      + RunFormatting.pad(deployed, 20) + "  " + triggers + "  (" + origin + ")"
                      + (row["paused"].boolValue == true ? "  PAUSED" : ""))
            }
            let errors = try conn.query("SELECT file, line, message FROM blacklight.load_errors ORDER BY file")
            for row in errors.rows {
                let line = row["line"].intValue.map { ":\($0)" } ?? ""
                print("error \(row["file"].stringValue ?? "")\(line): \(row["message"].stringValue ?? "")")
            }
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored versions of a function, newest first.")
        @OptionGroup var project: ProjectOptions
        @Argument(help: "Function id.") var functionID: String

        func run() throws {
            let db = try project.openDatabase()
            defer { db.close() }
            let conn = db.conn
            let active = try conn.query("SELECT active_version FROM blacklight.functions WHERE id = $1", [.text(functionID)]).rows.first
            guard let active else { throw ValidationError("no function with id '\(functionID)'") }
            let versions = try conn.query("""
                SELECT hash, file, created_at, length(source) AS bytes FROM blacklight.function_versions
                WHERE function_id = $1 ORDER BY created_at DESC
                """, [.text(functionID)])
            print("VERSION           CREATED               FILE")
            for row in versions.rows {
                let hash = row["hash"].stringValue ?? ""
                let mark = hash == active["active_version"].stringValue ? "  (active)" : ""
                let created = row["created_at"].dateValue.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
                print(RunFormatting.pad(hash, 16) + "  " + RunFormatting.pad(created, 20) + "  " + (row["file"].stringValue ?? "") + mark)
            }
        }
    }
}
