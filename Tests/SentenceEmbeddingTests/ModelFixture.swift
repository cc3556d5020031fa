import Foundation
import SentenceEmbedding
import Testing

/// The real all-MiniLM-L6-v2 files, where bin/fetch-model puts them (bin/test runs it first): the repository's
/// `.blacklight/models/all-minilm-l6-v2`, or BLACKLIGHT_MODEL_DIR. Tests that need the model fail, never skip, when
/// it is missing: a skipped semantic test would let a broken setup pass.
enum ModelFixture {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["BLACKLIGHT_MODEL_DIR"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return repository.appendingPathComponent(".blacklight/models/all-minilm-l6-v2")
    }

    static let reference = repository.appendingPathComponent("Tests/SentenceEmbeddingTests/Reference/minilm_reference.py")

    private static let loaded: Result<SentenceEmbedder, SentenceEmbeddingError> = {
        do {
            return .success(try SentenceEmbedder.load(directory: directory))
        } catch let error as SentenceEmbeddingError {
            return .failure(error)
        } catch {
            return .failure(SentenceEmbeddingError(.unreadableFile, file: directory.path, "\(error)"))
        }
    }()

    /// The model, loaded once per test process; a recorded failure naming the fix when it cannot be loaded.
    static func embedder() throws -> SentenceEmbedder {
        switch loaded {
        case .success(let embedder): return embedder
        case .failure(let error):
            Issue.record("the sentence model is needed: \(error) — run bin/fetch-model (bin/test does)")
            throw error
        }
    }

    /// Runs the numpy reference (`mode`: embed or tokens) on `texts` and returns its JSON answer.
    static func runReference(_ mode: String, _ texts: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", reference.path, directory.path, mode]
        var environment = ProcessInfo.processInfo.environment
        for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[name] = "1" }
        process.environment = environment
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // The script reads all of its input before it writes, so writing first and then reading cannot deadlock.
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: texts))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ReferenceError(description: "the numpy reference failed (exit \(process.terminationStatus)): \(message.suffix(600))")
        }
        return object
    }

    struct ReferenceError: Error, CustomStringConvertible { let description: String }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nb += Double(y) * Double(y)
        }
        return dot / max(1e-30, (na * nb).squareRoot())
    }

    /// Real texts of every kind the app embeds: O*NET titles, occupations as "Title. Description", task statements,
    /// SkillSpan postings (several longer than the 256 tokens the model reads), and texts with accents, symbols,
    /// CJK, emoji, control characters and special-token markers.
    static func sampleTexts() throws -> [String] {
        let onet = repository.appendingPathComponent("data/onet")
        func rows(_ file: String) throws -> [[String]] {
            try String(contentsOf: onet.appendingPathComponent(file), encoding: .utf8)
                .split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).dropFirst()
                .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        }
        let occupations = try rows("Occupation Data.txt")
        let titles = try rows("Alternate Titles.txt")
        let tasks = try rows("Task Statements.txt")
        var texts: [String] = []
        for i in stride(from: 0, to: occupations.count, by: 97) { texts.append(occupations[i][1] + ". " + occupations[i][2]) }
        for i in stride(from: 0, to: titles.count, by: 4_999) { texts.append(titles[i][1]) }
        for i in stride(from: 0, to: tasks.count, by: 2_999) { texts.append(tasks[i][2]) }
        let skillspan = try String(contentsOf: repository.appendingPathComponent("data/skillspan/test.json"), encoding: .utf8)
        var posting: [String] = [], key = ""
        for line in skillspan.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let tokens = object["tokens"] as? [String] else { continue }
            let k = "\(object["source"] ?? "")/\(object["idx"] ?? "")"
            if k != key, !posting.isEmpty {
                texts.append(posting.joined(separator: "\n"))
                posting = []
                if texts.count >= 40 { break }
            }
            key = k
            posting.append(tokens.joined(separator: " "))
        }
        texts += [
            "Physician", "Doctor", "Attorney", "Lawyer", "Café Müller, naïve résumé", "C++/C# developer (m/w/d)!!",
            "Registered Nurse (RN) – ICU, night shifts", "寿司 chef 日本語", "Data scientist 😀 ☃", "tab\tnew\nline\u{07}bell",
            "hello[SEP]world [MASK]", String(repeating: "x", count: 120), "",
        ]
        return texts
    }
}
