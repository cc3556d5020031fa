import Foundation

/// The numpy reference of all-MiniLM-L6-v2 (Tests/SentenceEmbeddingTests/Reference/minilm_reference.py), run on one
/// OpenBLAS thread as the named peer of the throughput figures: the same texts, timed by the script itself after a
/// warm-up (it batches 32 texts sorted by length and padded, as sentence-transformers does).
struct ReferencePeer {
    static let scriptPath = "Tests/SentenceEmbeddingTests/Reference/minilm_reference.py"

    let script: URL
    let model: URL

    /// Finds the script in the repository: under `root`, or above the running executable (in .build/).
    init?(root: URL, model: URL) {
        var candidates = [root.appendingPathComponent(Self.scriptPath)]
        var dir = (Bundle.main.executableURL ?? root).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent(Self.scriptPath))
            dir = dir.deletingLastPathComponent()
        }
        guard let script = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else { return nil }
        self.script = script
        self.model = model
    }

    struct Timing {
        var seconds: Double
        /// CPU time of the process (one thread), so a busy machine does not count against it.
        var cpuSeconds: Double
        var tokens: Int
        var texts: Int
    }

    /// Times the reference on `texts`; nil with the reason when python3 or numpy is missing or the script fails.
    func time(_ texts: [String]) -> Result<Timing, ReferencePeerError> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, model.path, "time"]
        var environment = ProcessInfo.processInfo.environment
        for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[name] = "1" }
        process.environment = environment
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
            // The script reads all of its input before it writes anything.
            input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: texts))
            try input.fileHandleForWriting.close()
        } catch {
            return .failure(ReferencePeerError(description: "python3 could not be started: \(error)"))
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let seconds = object["seconds"] as? Double, let cpu = object["cpu_seconds"] as? Double,
              let tokens = object["tokens"] as? Int, let count = object["texts"] as? Int
        else {
            let last = message.split(separator: "\n").last.map(String.init) ?? "exit \(process.terminationStatus)"
            return .failure(ReferencePeerError(description: "the numpy reference failed: \(last)"))
        }
        return .success(Timing(seconds: seconds, cpuSeconds: cpu, tokens: tokens, texts: count))
    }
}

struct ReferencePeerError: Error, CustomStringConvertible {
    let description: String
}
