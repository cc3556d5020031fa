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
            print("FUNCTION                        VERSION           DEPLOYED              TRIGGERS")
            let iso = ISO8601DateFormatter()
            for f in try FunctionCatalog.functions(conn: conn) {
                let triggers = (f.definition?.triggers ?? []).map { t -> String in
                    switch t {
                    case .event(let name, _, _): return "event \(name)"
                    case .cron(let e, let tz, _): return "cron \(e)" + (tz.map { " \($0)" } ?? "")
                    }
                }.joined(separator: ", ")
                let deployed = f.deployedAt.map(iso.string(from:)) ?? "-"
                var origin = f.file ?? ""
                if let app = f.app { origin = "http, app \(app), synced " + (f.syncedAt.map(iso.string(from:)) ?? "-") }
                print(RunFormatting.pad(f.id, 30) + "  " + RunFormatting.pad(f.activeVersion ?? "retired", 16) + "  "
                      + RunFormatting.pad(deployed, 20) + "  " + triggers + "  (" + origin + ")" + (f.paused ? "  PAUSED" : ""))
            }
            for e in try FunctionCatalog.loadErrors(conn: conn) {
                print("error \(e.file)\(e.line.map { ":\($0)" } ?? ""): \(e.message)")
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
            guard let found = try FunctionCatalog.versions(of: functionID, conn: conn) else {
                throw ValidationError("no function with id '\(functionID)'")
            }
            print("VERSION           CREATED               FILE")
            for v in found.versions {
                let created = v.createdAt.map { ISO8601DateFormatter().string(from: $0) } ?? "-"
                print(RunFormatting.pad(v.hash, 16) + "  " + RunFormatting.pad(created, 20) + "  " + (v.file ?? "") + (v.hash == found.active ? "  (active)" : ""))
            }
        }
    }
}
