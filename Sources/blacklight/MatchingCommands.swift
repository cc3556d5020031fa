import ArgumentParser
import BlacklightCore
import Engine
import Foundation
import Matching
import PGStore
import VectorScoring

/// `blacklight bench matching`: jobs/imported (1,000 × 20,000) and one candidate × 100,000 jobs.
struct MatchingBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "matching", abstract: "Job-matching workflow timings on O*NET data.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Active jobs already in the table.") var jobs = 100_000
    @Option(help: "Approved candidates.") var candidates = 20_000
    @Option(help: "New jobs in the jobs/imported event.") var newJobs = 1_000

    func run() throws {
        guard let dir = ONetData.locate(from: project.root) else { throw ValidationError("the data/ folder (O*NET, SkillSpan) was not found next to the project or the executable (set BLACKLIGHT_DATA_DIR)") }
        let data = try ONetData.load(dir)
        try project.withScratchDatabase { url in
            let services = project.quietServices
            let loaded = ScriptDirectory(root: project.root).load(services: services)
            guard loaded.errors.isEmpty else { throw ValidationError("scripts failed to load: \(loaded.errors)") }
            let conn = try PGConnection(url: url)
            defer { conn.close() }
            try Registry().activate(loaded.workflows, errors: [], retireMissing: true, conn: conn)
            try MatchingBenchmark.run(url: url, data: data, activeJobs: jobs, candidates: candidates, newJobs: newJobs,
                                      provider: .fromEnvironment(root: project.root), services: services) { print($0) }
        }
    }
}

/// `blacklight bench vectors`: top-100 over 1M cached embeddings (exact, int8, batches), numpy beside it, and the embedder.
struct VectorBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vectors", abstract: "Vector scoring and embedder speed, with numpy for comparison.")

    @OptionGroup var project: ProjectOptions
    @Option(help: "Stored vectors.") var count = 1_000_000
    @Option(help: "Dimension.") var dimension = 384
    @Option(help: "Queries to time.") var queries = 20

    func run() throws {
        let texts = ONetData.locate(from: project.root).map { BenchmarkTexts.load(dataDirectory: $0.path) } ?? []
        try VectorBenchmark.run(count: count, dimension: dimension, queries: queries, texts: texts) { print($0) }
    }
}

/// `blacklight import jobs|candidates FILE.jsonl`: loads rows and sends the events that match them.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Load jobs or candidates from JSON Lines and send the matching events.")

    enum Kind: String, ExpressibleByArgument { case jobs, candidates }

    @OptionGroup var project: ProjectOptions
    @Argument(help: "jobs or candidates") var kind: Kind
    @Argument(help: "A JSON Lines file: one object per line with the table's column names.") var file: String
    @Option(help: "Rows per batch (one jobs/imported event per batch).") var batchSize = 500
    @Option(help: "Source name for jobs/imported.") var source = "import"

    func run() throws {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
        var objects: [JSONValue] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                let value = try JSONValue.parse(trimmed, exactNumbers: true)
                guard case .object = value else { throw ValidationError("\(file):\(n + 1): each line must be a JSON object") }
                objects.append(value)
            } catch let error as JSONError {
                throw ValidationError("\(file):\(n + 1): \(error)")
            }
        }
        let (url, cluster) = try project.database()
        defer { cluster?.stop() }
        _ = try project.migrate(url)
        let conn = try PGConnection(url: url)
        defer { conn.close() }
        let progress = Progress(total: objects.count, label: "importing \(kind.rawValue)")
        var done = 0
        for start in stride(from: 0, to: objects.count, by: max(1, batchSize)) {
            let chunk = Array(objects[start..<min(objects.count, start + max(1, batchSize))])
            try conn.transaction {
                let ids = try JSONImport.insert(kind: kind.rawValue, rows: chunk, conn: conn)
                var events: [EventStore.Event] = []
                if kind == .jobs {
                    events.append(EventStore.Event(name: "jobs/imported", data: [
                        "job_ids": .array(ids.map { .int($0) }), "batch_id": .string("\(source)-\(start / max(1, batchSize))"),
                        "source": .string(source)]))
                } else {
                    for (i, id) in ids.enumerated() {
                        events.append(EventStore.Event(name: "job-match/generate-candidate", data: [
                            "candidate_id": .int(id), "tenant_id": chunk[i]["tenant_id"] ?? .null, "trigger": "manual"]))
                    }
                }
                _ = try EventStore().send(events, conn: conn)
            }
            done += chunk.count
            progress.update(done)
        }
        progress.finish()
        print("imported \(done) \(kind.rawValue)")
    }
}

/// A progress bar on a terminal, nothing when standard error is not one.
final class Progress {
    let total: Int
    let label: String
    let enabled = isatty(STDERR_FILENO) != 0
    init(total: Int, label: String) { self.total = total; self.label = label }
    func update(_ n: Int) {
        guard enabled, total > 0 else { return }
        let width = 30, filled = width * n / total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(n)/\(total)".utf8))
    }
    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}
