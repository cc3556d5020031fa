import ArgumentParser
import Engine
import Foundation

/// `blacklight bench replay`: bulk replay of failed runs while other events keep coming.
struct ReplayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay 100,000 failed runs while single events of another function arrive; replay time and their event-to-step latency.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Failed runs to replay.") var runs = 100_000
    @Option(help: "Also replay at this many runs per second (the default pace is the workers' spare capacity).") var rate: Double?
    @Flag(inversion: .prefixedNo, help: "Also replay them all at once afterwards, for comparison.") var unpaced = true
    @Option(help: "Other events per second during the replay.") var eventRate = 200
    @Option(help: "Worker threads.") var workers = 2

    func run() throws {
        try project.withScratchDatabase { url in
            var settings = ReplayBenchmark.Settings()
            settings.runs = runs
            settings.rate = rate
            settings.unpaced = unpaced
            settings.eventRate = eventRate
            settings.workers = workers
            let services = project.quietServices
            print("blacklight bench replay — BulkRuns.replay in chunks of \(BulkRuns().chunk) runs")
            try ReplayBenchmark.run(url: url, settings: settings, services: services) { print($0) }
        }
    }
}
