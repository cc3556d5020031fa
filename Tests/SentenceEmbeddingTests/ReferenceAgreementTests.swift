import Foundation
import SentenceEmbedding
import Testing

@Suite("MiniLM embeddings")
struct ReferenceAgreementTests {
    @Test("vectors agree with the numpy reference to a cosine of at least 0.999, at every kernel level")
    func agreesWithReference() throws {
        let texts = try ModelFixture.sampleTexts()
        let reference = try ModelFixture.runReference("embed", texts)
        let expected = try #require(reference["vectors"] as? [[Double]]).map { $0.map(Float.init) }
        let embedder = try ModelFixture.embedder()
        for level in KernelLevel.allCases where level.rawValue <= KernelLevel.best.rawValue {
            let vectors = embedder.with(level: level).embed(texts)
            let worst = zip(vectors, expected).map { ModelFixture.cosine($0, $1) }.min() ?? 0
            #expect(worst >= 0.999, "\(level): lowest cosine \(worst)")
            #expect(vectors.allSatisfy { abs($0.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4 }, "\(level): vectors are unit length")
        }
    }

    @Test("Physician is close to Doctor and far from Carpenter; Attorney is close to Lawyer")
    func semantics() throws {
        let v = try ModelFixture.embedder().embed(["Physician", "Doctor", "Carpenter", "Attorney", "Lawyer"])
        let doctor = ModelFixture.cosine(v[0], v[1]), carpenter = ModelFixture.cosine(v[0], v[2])
        #expect(doctor > 0.8, "Physician/Doctor \(doctor)")
        #expect(carpenter < 0.5, "Physician/Carpenter \(carpenter)")
        #expect(doctor - carpenter > 0.4)
        #expect(ModelFixture.cosine(v[3], v[4]) > 0.8)
    }

    @Test("a batch gives the same vectors as texts embedded one at a time, on one thread or two")
    func batchMatchesSingle() throws {
        let embedder = try ModelFixture.embedder()
        let texts = Array(try ModelFixture.sampleTexts().prefix(30))
        let singles = texts.map { embedder.embed($0) }
        for threads in [1, 2] {
            let batch = embedder.embed(texts, threads: threads)
            for (a, b) in zip(batch, singles) {
                #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 })
            }
        }
        #expect(embedder.embed([]).isEmpty)
    }

    @Test("the identity names the model folder, the pipeline version and the weights")
    func identity() throws {
        let embedder = try ModelFixture.embedder()
        #expect(embedder.dimension == 384)
        #expect(embedder.identity.hasPrefix("all-minilm-l6-v2@\(SentenceEmbedder.pipelineVersion):"))
        #expect(embedder.fingerprint.count == 16)
    }
}

@Suite("Chunks of a batch")
struct ChunkingTests {
    @Test("a batch is cut into whole rounds of equal chunks, so no thread encodes the last chunk alone")
    func wholeRounds() {
        // 2,000 titles of 5 or 6 tokens: greedy cuts at 1,024 tokens made 11 chunks for 2 threads.
        let titles = (0..<2000).map { 5 + $0 % 2 }
        let chunks = SentenceEmbedder.chunks(titles, threads: 2)
        #expect(chunks.count == 12)
        let sizes = chunks.map { $0.reduce(0) { $0 + titles[$1] } }
        #expect(sizes.allSatisfy { abs($0 - 11_000 / 12) <= 6 }, "\(sizes)")
        #expect(sizes.allSatisfy { $0 <= SentenceEmbedder.chunkTokens })
    }

    @Test("chunks cover every sequence once, in order, whatever the lengths")
    func coverage() {
        let cases: [([Int], Int)] = [([3], 2), ([256, 1, 256, 2, 256], 2), (Array(repeating: 256, count: 263), 2),
                                     ([1, 1], 8), ((0..<100).map { 2 + $0 % 250 }, 3)]
        for (lengths, threads) in cases {
            let chunks = SentenceEmbedder.chunks(lengths, threads: threads)
            #expect(chunks.first?.lowerBound == 0 && chunks.last?.upperBound == lengths.count)
            #expect(zip(chunks, chunks.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(chunks.allSatisfy { !$0.isEmpty })
            #expect(chunks.count >= min(threads, lengths.count))
        }
        #expect(SentenceEmbedder.chunks([], threads: 2).isEmpty)
    }
}
