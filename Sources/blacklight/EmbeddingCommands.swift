import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import SentenceEmbedding

/// `blacklight backfill-embeddings [jobs|candidates|all]`: sends system/backfill-embeddings and follows the runs
/// with a progress bar until they end. The workers (dev, serve, worker) do the embedding, with their embedder.
struct BackfillEmbeddingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill-embeddings",
        abstract: "Embed the jobs and candidates whose embedding is missing or came from another embedder, with a progress bar.")

    enum Kind: String, ExpressibleByArgument, CaseIterable { case jobs, candidates, all }

    @OptionGroup var project: ProjectOptions
    @Argument(help: "jobs, candidates or all") var kind: Kind = .all
    @Option(help: "Rows per step.") var batchSize = 100
    @Flag(help: "Send the events and return without waiting.") var noWait = false

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        let db = try project.openDatabase()
        defer { db.close() }
        _ = try project.migrate(db.url)
        let kinds = kind == .all ? ["jobs", "candidates"] : [kind.rawValue]
        let events = kinds.map {
            EventStore.Event(name: "system/backfill-embeddings", data: ["entity_type": .string($0), "batch_size": .int(Int64(batchSize))])
        }
        let ids = try EventStore().send(events, conn: db.conn)
        print("sent system/backfill-embeddings for \(kinds.joined(separator: " and ")) (events \(ids.joined(separator: ", ")))")
        if noWait { return }

        let started = Date()
        var hinted = false
        var progress: Progress?
        while true {
            let runs = try BackfillRuns().runs(forEvents: ids, conn: db.conn)
            let all = ids.compactMap { runs[$0] }
            if all.count == ids.count, all.allSatisfy({ $0.total != nil }) {
                let total = all.reduce(0) { $0 + ($1.total ?? 0) }
                if progress == nil { progress = Progress(total: total, label: "embedding \(kinds.joined(separator: " and "))") }
                progress?.update(min(total, all.reduce(0) { $0 + $1.done }))
            }
            if all.count == ids.count, all.allSatisfy(\.ended) {
                progress?.finish()
                for (name, id) in zip(kinds, ids) {
                    guard let run = runs[id] else { continue }
                    if run.status == "completed", let out = run.output {
                        let failed = out["failed"]?.arrayValue ?? []
                        print("\(name): \(out["processed"]?.intValue ?? 0) of \(out["total"]?.intValue ?? 0) embedded with "
                              + "\(out["model"]?.stringValue ?? "?")\(failed.isEmpty ? "" : ", \(failed.count) failed (blacklight runs show \(run.id))")")
                    } else {
                        print("\(name): run \(run.id) \(run.status): \(run.error?.serialized() ?? "")")
                    }
                }
                if all.contains(where: { $0.status != "completed" }) { throw ExitCode.failure }
                return
            }
            if !hinted, Date().timeIntervalSince(started) > 5, all.allSatisfy({ $0.status == "queued" }) {
                hinted = true
                FileHandle.standardError.write(Data("waiting for a worker to take the runs (blacklight dev, serve or worker)…\n".utf8))
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }
}

/// `blacklight bench embeddings`: role normalisation on O*NET for both embedders, tokens/s and texts/s of the native
/// model for titles and postings beside the numpy reference, and the share of the measured FMA peak.
struct EmbeddingsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embeddings", abstract: "Sentence-model quality (O*NET role normalisation) and speed, with numpy beside it.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Threads for the native model (default: every processor).") var threads: Int?

    func run() throws {
        guard let dir = ONetData.locate(from: project.root) else {
            throw ValidationError("the data/ folder (O*NET, SkillSpan) was not found next to the project or the executable (set BLACKLIGHT_DATA_DIR)")
        }
        let modelDirectory = EmbeddingProvider.modelDirectory(ProcessInfo.processInfo.environment, root: project.root)
        let embedder: SentenceEmbedder
        do {
            embedder = try SentenceEmbedder.load(directory: modelDirectory)
        } catch {
            throw ValidationError("the sentence model cannot be loaded: \(error) (run bin/fetch-model)")
        }
        try EmbeddingBenchmark.run(data: try ONetData.load(dir), embedder: embedder, root: project.root,
                                   modelDirectory: modelDirectory, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) {
            print($0)
        }
    }
}
