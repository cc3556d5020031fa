import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import PGStore

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send an event: store it and start every function it triggers, in one transaction.")

    @OptionGroup var project: ProjectOptions
    @Argument(help: "Event name, e.g. jobs/imported.") var name: String
    @Option(help: "Event data as a JSON object.") var data: String = "{}"
    @Option(help: "Event id: the same id within 24 h creates nothing new and returns the original event id.") var id: String?

    func run() throws {
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw ValidationError("--data is not valid JSON: \(error)")
        }
        guard case .object = json else { throw ValidationError("--data must be a JSON object, e.g. '{\"job_ids\": [1, 2]}'") }
        let (url, cluster) = try project.database()
        defer { cluster?.stop() }
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let ids = try EventStore().send([EventStore.Event(name: name, data: json, id: id)], conn: conn)
        print(ids.first ?? "")
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "Inspect runs.", subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent runs.")
        @OptionGroup var project: ProjectOptions
        @Option(name: .customLong("function"), help: "Only this function id.") var function: String?
        @Option(help: "Only this status (queued, running, sleeping, waiting, completed, failed, cancelled).") var status: String?
        @Option(help: "At most this many runs.") var limit = 50
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if let status, RunStatus(rawValue: status) == nil {
                throw ValidationError("unknown status '\(status)' (use \(RunStatus.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }

        func run() throws {
            let (url, cluster) = try project.database()
            defer { cluster?.stop() }
            let conn = try PGConnection(url: url)
            defer { conn.close() }
            let runs = try RunQueries().list(function: function, status: status, limit: limit, conn: conn)
            if json {
                print(JSONValue.array(runs.map(\.json)).serialized())
                return
            }
            print(RunFormatting.table(runs))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run with its steps.")
        @OptionGroup var project: ProjectOptions
        @Argument(help: "Run id.") var runID: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let (url, cluster) = try project.database()
            defer { cluster?.stop() }
            let conn = try PGConnection(url: url)
            defer { conn.close() }
            guard let shown = try RunQueries().show(runID, conn: conn) else {
                throw ValidationError("no run with id '\(runID)'")
            }
            if json {
                print(shown.0.json.serialized())
                return
            }
            print(RunFormatting.detail(shown.0, steps: shown.1, output: shown.output, error: shown.error))
        }
    }
}

struct FunctionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions", abstract: "Inspect functions.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List functions with their active version and triggers, and scripts that failed to load.")
        @OptionGroup var project: ProjectOptions

        func run() throws {
            let (url, cluster) = try project.database()
            defer { cluster?.stop() }
            let conn = try PGConnection(url: url)
            defer { conn.close() }
            let rows = try conn.query("SELECT id, active_version, config, deployed_at, file FROM blacklight.functions ORDER BY id")
            for row in rows.rows {
                let config = row["config"].jsonText.flatMap { try? JSONValue.parse($0) }
                let def = config.flatMap(WorkflowDefinition.init(config:))
                let triggers = (def?.triggers ?? []).map { t -> String in
                    switch t {
                    case .event(let name, _): return "event \(name)"
                    case .cron(let e, let tz, _): return "cron \(e)" + (tz.map { " \($0)" } ?? "")
                    }
                }.joined(separator: ", ")
                let version = row["active_version"].stringValue ?? "retired"
                print("\(row["id"].stringValue ?? "")  \(version)  \(triggers)  \(row["file"].stringValue ?? "")")
            }
            let errors = try conn.query("SELECT file, line, message FROM blacklight.load_errors ORDER BY file")
            for row in errors.rows {
                let line = row["line"].intValue.map { ":\($0)" } ?? ""
                print("error \(row["file"].stringValue ?? "")\(line): \(row["message"].stringValue ?? "")")
            }
        }
    }
}
