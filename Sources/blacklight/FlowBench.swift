import ArgumentParser
import Engine
import Foundation

/// `blacklight bench flow`: throttle, debounce and batch_events under a steady event rate.
struct FlowBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow",
        abstract: "Throttle, debounce and batch_events at 1,000 events/s: events/s ingested, runs/s started, scheduling error.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Events per second, one per transaction.") var rate = 1_000
    @Option(help: "Seconds of sending per declaration.") var seconds = 10.0
    @Option(help: "Worker threads.") var workers = 2
    @Option(help: "Connections sending events.") var senders = 4
    @Option(help: "Events per ingest call (one transaction).") var perCall = 10

    func run() throws {
        try project.withScratchDatabase { url in
            var settings = FlowBenchmark.Settings()
            settings.rate = rate
            settings.seconds = seconds
            settings.workers = workers
            settings.senders = senders
            settings.perCall = perCall
            let services = project.quietServices
            print("blacklight bench flow — flow control decided in PostgreSQL at ingest (0006, 0008)")
            try FlowBenchmark.run(url: url, settings: settings, services: services) { print($0) }
        }
    }
}
