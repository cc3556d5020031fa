import Foundation

/// numpy on the same data and queries, for a reference point: `m @ q` + argpartition per query, and
/// `Q @ m.T` + argpartition for the 64-query batch, each with OpenBLAS on 1 and on 2 threads.
/// Skipped with a note when python3 or numpy is missing.
enum NumPyComparison {
    static let script = """
        import sys, time, numpy as np
        n, d, nq, singles, k = map(int, sys.argv[1:6])
        m = np.fromfile(sys.argv[6], dtype=np.float32).reshape(n, d)
        Q = np.fromfile(sys.argv[7], dtype=np.float32).reshape(nq, d)
        def top(s):
            i = np.argpartition(-s, k)[:k]
            return i[np.argsort(-s[i])]
        one = []
        for q in Q[:singles]:
            t = time.perf_counter(); top(m @ q); one.append(time.perf_counter() - t)
        batch = []
        for _ in range(3):
            t = time.perf_counter(); S = Q @ m.T
            for j in range(nq): top(S[j])
            batch.append(time.perf_counter() - t)
        print("%.1f %.1f" % (np.median(one) * 1e3, np.median(batch) / nq * 1e3))
        """

    static func run(data: [[Float]], queries: [[Float]], singles: Int, k: Int, log: (String) -> Void) {
        guard let dimension = data.first?.count, data.count > k else { return }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("blacklight-vecbench-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let matrix = directory.appendingPathComponent("matrix.f32"), queryFile = directory.appendingPathComponent("queries.f32")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try write(data, to: matrix)
            try write(queries, to: queryFile)
        } catch {
            log("numpy: skipped, cannot write the vectors to \(directory.path): \(error)")
            return
        }
        for threads in [1, 2] {
            let arguments = ["-c", script, "\(data.count)", "\(dimension)", "\(queries.count)", "\(min(singles, queries.count))",
                             "\(k)", matrix.path, queryFile.path]
            guard let output = python(arguments, threads: threads) else {
                log("numpy: skipped (python3 with numpy not available)")
                return
            }
            let figures = output.split(separator: " ")
            guard figures.count == 2 else {
                log("numpy: unexpected output: \(output)")
                return
            }
            log("numpy (OpenBLAS, \(threads) thread(s)): top-\(k) 1 query p50 \(figures[0]) ms, "
                + "batch of \(queries.count) \(figures[1]) ms per query")
        }
    }

    /// Row-major float32, streamed in chunks so a 1.5 GB matrix is not copied whole.
    static func write(_ rows: [[Float]], to url: URL) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var start = 0
        while start < rows.count {
            let end = min(start + 4_096, rows.count)
            var chunk = Data()
            for row in rows[start..<end] { row.withUnsafeBytes { chunk.append(contentsOf: $0) } }
            try handle.write(contentsOf: chunk)
            start = end
        }
    }

    /// Runs python3 with OpenBLAS pinned to `threads` threads and without the machine's OpenBLAS core-type
    /// and cache-size overrides; returns its trimmed standard output, or nil if it failed.
    static func python(_ arguments: [String], threads: Int) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = nil
        environment["OPENBLAS_L2_SIZE"] = nil
        for name in ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"] { environment[name] = "\(threads)" }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
