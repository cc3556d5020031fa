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
            json = try JSONValue.parse(data, exactNumbers: true)
        } catch {
            throw ValidationError("--data is not valid JSON: \(error)")
        }
        guard case .object = json else { throw ValidationError("--data must be a JSON object, e.g. '{\"job_ids\": [1, 2]}'") }
        let db = try project.openDatabase()
        defer { db.close() }
        let conn = db.conn
        let ids = try EventStore().send([EventStore.Event(name: name, data: json, id: id)], conn: conn)
        print(ids.first ?? "")
    }
}

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "Inspect, cancel and replay runs.",
        subcommands: [List.self, Show.self, CancelRunsCommand.self, ReplayRunsCommand.self])

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
            let db = try project.openDatabase()
            defer { db.close() }
            let conn = db.conn
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
            let db = try project.openDatabase()
            defer { db.close() }
            let conn = db.conn
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

