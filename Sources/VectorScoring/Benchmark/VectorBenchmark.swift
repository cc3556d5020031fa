import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The measurements behind the numbers quoted in this module, printed line by line (`blacklight bench vectors`).
public enum VectorBenchmark {
    /// Builds an index of `count` clustered vectors of `dimension` floats and times: the build, single-query
    /// top-100 (exact, int8 and int4 + re-score, 1 and 2 threads, p50 over `queries` queries, recall@100),
    /// 64-query batches (per query, 1 and 2 threads), numpy on the same data when python3 with numpy is
    /// installed, and the local embedder on `texts` (e.g. `BenchmarkTexts.load(dataDirectory:)`; synthetic job
    /// texts when empty). Throws `VectorScoringError` for a dimension out of range or memory that cannot be mapped.
    public static func run(count: Int, dimension: Int, queries: Int, texts: [(text: String, skills: [String])] = [],
                           log: (String) -> Void) throws {
        let k = 100
        var load = [Double](repeating: 0, count: 3)
        _ = getloadavg(&load, 3)
        log("VectorScoring benchmark: \(count) x \(dimension) clustered vectors, kernels: \(KernelLevel.best), "
            + "\(Parallel.activeProcessorCount) processors, load average \(fmt(load[0], digits: 2)) "
            + "(other work on the machine slows the 2-thread figures most)")
        var clock = Stopwatch()
        let data = SyntheticVectors.clustered(count: count, dimension: dimension)
        let queryVectors = SyntheticVectors.clustered(count: max(queries, 64), dimension: dimension, seed: 7)
            .map(Vector.init)
        log("generate: \(clock.lap()) ms")

        let index = try VectorIndex(dimension: dimension, capacity: count)
        _ = clock.lap()
        try index.upsert(ids: data.indices.map(Int64.init), vectors: data)
        log("build (bulk upsert: normalise, float32 + int8 + int4 blocks): \(clock.lap()) ms")

        let singles = Array(queryVectors.prefix(queries))
        var exactResults: [[ScoredID]] = []
        for threads in [1, 2] {
            var times: [Double] = []
            exactResults = try singles.map { q in
                try Stopwatch.time(&times) { try index.topK(q, k: k, precision: .exact, threads: threads) }
            }
            log("top-\(k) exact, 1 query, \(threads) thread(s): p50 \(fmt(median(times))) ms (best \(fmt(times.min()!)))")
        }
        for (name, precision) in [("int8 + re-score 400", VectorIndex.Precision.int8), ("int4 + re-score 800", .int4)] {
            for threads in [1, 2] {
                var times: [Double] = []
                let results = try singles.map { q in
                    try Stopwatch.time(&times) { try index.topK(q, k: k, precision: precision, threads: threads) }
                }
                log("top-\(k) \(name), 1 query, \(threads) thread(s): p50 \(fmt(median(times))) ms "
                    + "(best \(fmt(times.min()!))), recall@\(k) \(fmt(recall(results, exactResults), digits: 4))")
            }
        }

        let batch = Array(queryVectors.prefix(64))
        let batchExact = try index.topK(batch, k: k, precision: .exact, threads: 2)
        for precision in [VectorIndex.Precision.exact, .int8, .int4] {
            for threads in [1, 2] {
                var times: [Double] = []
                var results: [[ScoredID]] = []
                for _ in 0..<3 {
                    results = try Stopwatch.time(&times) { try index.topK(batch, k: k, precision: precision, threads: threads) }
                }
                let name = precision == .exact ? "exact" : precision == .int8 ? "int8 + re-score 400" : "int4 + re-score 800"
                log("top-\(k) \(name), batch of 64, \(threads) thread(s): \(fmt(median(times) / 64)) ms per query "
                    + "(best \(fmt(times.min()! / 64)))"
                    + (precision == .exact ? "" : ", recall@\(k) \(fmt(recall(results, batchExact), digits: 4))"))
            }
        }

        NumPyComparison.run(data: data, queries: batch.map(\.values), singles: queries, k: k, log: log)
        EmbedderBenchmark.run(texts: texts, log: log)
    }

    static func recall(_ results: [[ScoredID]], _ truth: [[ScoredID]]) -> Double {
        var hits = 0, total = 0
        for (r, t) in zip(results, truth) {
            let expected = Set(t.map(\.id))
            hits += r.filter { expected.contains($0.id) }.count
            total += t.count
        }
        return total == 0 ? 1 : Double(hits) / Double(total)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func fmt(_ value: Double, digits: Int = 1) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return "\(rounded)"
    }
}

/// Wall-clock milliseconds from the monotonic clock.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds

    /// Milliseconds since the previous lap (or creation), as a whole number.
    mutating func lap() -> Int {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Int((now - last) / 1_000_000)
    }

    /// Runs `body`, appends its duration in milliseconds to `times`, and returns its result.
    static func time<T>(_ times: inout [Double], _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        return result
    }
}
