import Dispatch
import Foundation
import SentenceEmbedding
import VectorScoring

/// `blacklight bench embeddings`: what the native sentence model buys and what it costs, beside the hashing embedder
/// and the numpy reference. Quality: role normalisation on O*NET (RoleNormalization). Speed: tokens and texts per
/// second for job titles and for postings, on one thread and on every core, the numpy reference on one thread, and
/// the FLOP rate against the FMA peak measured on this machine.
public enum EmbeddingBenchmark {
    public static func run(data: ONetData, embedder: SentenceEmbedder, root: URL, modelDirectory: URL, threads: Int,
                           log: (String) -> Void) throws {
        let hashing = LocalEmbedder(dimension: 384)
        log("blacklight bench embeddings: \(embedder.identity), kernels \(embedder.level), \(threads) threads")

        // Quality.
        let task = RoleNormalization(data: data)
        log("role normalisation, O*NET 29.2: \(task.titles.count) alternate titles (SplitMix64 seed 13) → nearest of "
            + "\(task.occupations.count) occupations embedded as \"Title. Description\"")
        let hashingScore = try task.score { texts in texts.map { hashing.embed($0) } }
        log(String(format: "  hashing embedder (hashing-384@1)     top-1 %5.1f %%   top-5 %5.1f %%", hashingScore.top1, hashingScore.top5))
        let modelScore = try task.score { texts in embedder.embed(texts, threads: threads).map { Vector($0) } }
        let label = "\(embedder.name) (native)".padding(toLength: 37, withPad: " ", startingAt: 0)
        log("  " + label + String(format: "top-1 %5.1f %%   top-5 %5.1f %%", modelScore.top1, modelScore.top5))

        // Speed.
        let titles = task.titles.map(\.text)
        let postings = data.postings.map(\.description)
        let peak = KernelLevel.best.measuredFMAPeak(seconds: 0.5)
        let peakAll = measuredPeak(threads: threads)
        log("throughput (best of 3 runs; tokens include [CLS] and [SEP], texts are cut at \(embedder.tokenizer.maximumTokens)).")
        log("  wall clock, and per second of CPU time (what the cores did while they ran the model, whatever else the")
        log("  machine was running), with the FLOP rate per busy core against one core's measured FMA peak:")
        for (name, texts) in [("titles", titles), ("postings", postings)] {
            let ids = embedder.tokenize(texts)
            let tokens = ids.reduce(0) { $0 + $1.count }
            let uncut = texts.prefix(64).map { Double($0.split(whereSeparator: \.isWhitespace).count) }.reduce(0, +) / Double(min(64, texts.count))
            let flops = embedder.flops(tokenCounts: ids.map(\.count))
            var line = "  \(name): " + String(format: "%d texts, %.1f tokens each", texts.count, Double(tokens) / Double(max(1, texts.count)))
            if name == "postings" { line += String(format: " (%.0f words before the cut)", uncut) }
            log(line)
            for t in Set([1, threads]).sorted() {
                _ = embedder.embed(tokenized: Array(ids.prefix(8)), threads: t)
                let runs = (0..<3).map { _ in time { _ = embedder.embed(tokenized: ids, threads: t) } }
                let wall = runs.map(\.wall).min() ?? 1, cpu = runs.map(\.cpu).min() ?? 1
                let perCore = flops / cpu / 1e9
                log("    native, \(t) thread\(t == 1 ? ": " : "s:")"
                    + String(format: "%7.0f tokens/s %7.1f texts/s | per CPU-second %6.0f tokens, %5.1f GFLOP/s = %4.1f %% of the peak",
                             Double(tokens) / wall, Double(texts.count) / wall, Double(tokens) / cpu, perCore, 100 * perCore / peak))
            }
            let hashSeconds = (0..<3).map { _ in time { _ = hashing.embed(batch: texts.map { ($0, []) }) }.wall }.min() ?? 1
            log(String(format: "    hashing embedder, batched:          %7.0f texts/s", Double(texts.count) / hashSeconds))
            guard let peer = ReferencePeer(root: root, model: modelDirectory) else {
                log("    numpy reference: skipped, \(ReferencePeer.scriptPath) not found")
                continue
            }
            switch peer.time(texts) {
            case .success(let timing):
                log(String(format: "    numpy reference, 1 thread: %7.0f tokens/s %7.1f texts/s | per CPU-second %6.0f tokens",
                           Double(timing.tokens) / timing.seconds, Double(timing.texts) / timing.seconds,
                           Double(timing.tokens) / timing.cpuSeconds))
            case .failure(let error):
                log("    numpy reference: skipped, \(error)")
            }
        }
        let nominal = nominalPeak(threads: threads, lanes: KernelLevel.best.lanes)
        log("FMA peak, measured (12 independent \(KernelLevel.best) FMA chains per thread, per second of CPU time): "
            + String(format: "%.1f GFLOP/s on 1 thread, %.1f on %d at once", peak, peakAll, threads))
        if let nominal {
            log(String(format: "  nominal: %d cores × %.2f GHz × 2 FMA units × %d lanes × 2 FLOP = %.0f GFLOP/s (AVX-512 code runs "
                       + "below the nominal clock; the measured figure is the reference)",
                       threads, nominal.ghz, KernelLevel.best.lanes, nominal.gflops))
        }
    }

    /// Wall-clock seconds and seconds of this process's CPU time (all threads) that `body` took.
    static func time(_ body: () -> Void) -> (wall: Double, cpu: Double) {
        func cpuNow() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }
        let start = DispatchTime.now().uptimeNanoseconds, cpu = cpuNow()
        body()
        return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, cpuNow() - cpu)
    }

    /// The FMA rate of `threads` threads running the peak loop at once.
    static func measuredPeak(threads: Int) -> Double {
        let rates = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
        defer { rates.deallocate() }
        let shared = UncheckedRates(rates)
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            shared.buffer[i] = KernelLevel.best.measuredFMAPeak(seconds: 0.5)
        }
        return rates.reduce(0, +)
    }

    /// cores × GHz (from /proc/cpuinfo's model name or cpu MHz) × 2 FMA units × lanes × 2, when the clock is known.
    static func nominalPeak(threads: Int, lanes: Int) -> (ghz: Double, gflops: Double)? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        var ghz: Double?
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let at = line.range(of: "@ "), let value = Double(line[at.upperBound...].replacingOccurrences(of: "GHz", with: "")
                .trimmingCharacters(in: .whitespaces)) {
                ghz = value
            }
            break
        }
        if ghz == nil, let line = info.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
           let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }) {
            ghz = value / 1000
        }
        guard let ghz else { return nil }
        return (ghz, Double(threads) * ghz * 2 * Double(lanes) * 2)
    }
}

/// Per-thread result slots written by concurrentPerform; each iteration writes only its own slot.
private struct UncheckedRates: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Double>
    init(_ buffer: UnsafeMutableBufferPointer<Double>) { self.buffer = buffer }
}
