import ArgumentParser
import Engine
import Foundation

/// `blacklight bench prune`: retention over a large history while events keep arriving.
struct PruneBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Prune 1M ended runs while single events are ingested; prune rate and ingest latency.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Ended runs in the history to prune.") var runs = 1_000_000
    @Option(help: "Steps per run.") var stepsPerRun = 3
    @Option(help: "Single-event ingests per second during the prune.") var rate = 200

    func run() throws {
        try project.withScratchDatabase { url in
            var settings = PruneBenchmark.Settings()
            settings.runs = runs
            settings.stepsPerRun = stepsPerRun
            settings.ingestRate = rate
            let services = project.quietServices
            print("blacklight bench prune — chunks of \(Pruner().runChunk) runs / \(Pruner().rowChunk) rows, one transaction each")
            try PruneBenchmark.run(url: url, settings: settings, services: services) { print($0) }
        }
    }
}
