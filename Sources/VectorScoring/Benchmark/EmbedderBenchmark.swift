/// Throughput of `LocalEmbedder` on job texts.
enum EmbedderBenchmark {
    static func run(texts: [BenchmarkTexts.Text], log: (String) -> Void) {
        let texts = texts.isEmpty ? syntheticTexts(500) : texts
        let words = texts.reduce(0) { $0 + $1.text.split(separator: " ").count }
        let skills = texts.reduce(0) { $0 + $1.skills.count }
        let embedder = LocalEmbedder()
        var single: [Double] = []
        var batch: [Double] = []
        for _ in 0..<3 {
            Stopwatch.time(&single) { for t in texts { _ = embedder.embed(t.text, skills: t.skills) } }
            Stopwatch.time(&batch) { _ = embedder.embed(batch: texts) }
        }
        let perSecond = { (ms: Double) in Int(Double(texts.count) / ms * 1_000) }
        log("local embedder (384-d): \(texts.count) texts, \(words / max(1, texts.count)) words and "
            + "\(skills / max(1, texts.count)) skills each on average: "
            + "\(perSecond(single.min()!)) texts/s on 1 thread, \(perSecond(batch.min()!)) texts/s batched (2 threads)")
    }

    /// Job-like texts from a fixed vocabulary, when no real ones are given.
    static func syntheticTexts(_ count: Int) -> [BenchmarkTexts.Text] {
        let vocabulary = """
            develop maintain design build deploy test review scalable backend frontend services systems data \
            pipelines python java swift c++ c# .net node.js react postgresql kubernetes docker cloud aws team \
            customers requirements experience years senior engineer analyst nurse patient care schedule reports \
            budget sales marketing support training quality safety equipment operate inspect repair manage
            """.split(separator: " ").map(String.init)
        var rng = SplitMix64(seed: 99)
        return (0..<count).map { _ in
            let text = (0..<250).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] }.joined(separator: " ")
            return (text, (0..<8).map { _ in vocabulary[Int(rng.next() % UInt64(vocabulary.count))] })
        }
    }
}
