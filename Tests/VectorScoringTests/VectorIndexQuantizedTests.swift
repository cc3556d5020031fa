import Testing
@testable import VectorScoring

@Suite("VectorIndex quantised scans")
struct VectorIndexQuantizedTests {
    static let precisions: [VectorIndex.Precision] = [.int8, .int4]

    @Test("int8 and int4 + re-score have recall@100 >= 0.99 on 20k clustered vectors, with exact scores",
          arguments: KernelLevel.allCases, precisions)
    func recall(level: KernelLevel, precision: VectorIndex.Precision) throws {
        let vectors = SyntheticVectors.clustered(count: 20_000, dimension: 384, clusters: 100, seed: 21)
        let index = try TestData.index(vectors, level: level)
        let queries = SyntheticVectors.clustered(count: 20, dimension: 384, clusters: 100, seed: 22).map(Vector.init)
        var hits = 0
        for q in queries {
            let exact = try index.topK(q, k: 100)
            let fast = try index.topK(q, k: 100, precision: precision)
            hits += Set(exact.map(\.id)).intersection(fast.map(\.id)).count
            // Re-scored results carry the exact scores, in the exact order.
            let exactByID = Dictionary(uniqueKeysWithValues: exact.map { ($0.id, $0.score) })
            for r in fast where exactByID[r.id] != nil { #expect(exactByID[r.id] == r.score) }
            #expect(fast == fast.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) })
        }
        #expect(Double(hits) / Double(queries.count * 100) >= 0.99)
    }

    @Test("the default re-scoring depth is max(400, 4k) for int8, max(800, 8k) for int4, never below k")
    func rerankDepth() throws {
        #expect(VectorIndex.Precision.int8.rerankDepth(k: 100) == 400)
        #expect(VectorIndex.Precision.int4.rerankDepth(k: 200) == 1_600)
        #expect(VectorIndex.Precision.int4.rerankDepth(k: 10) == 800)
        #expect(VectorIndex.Precision.int8(rerank: 50).rerankDepth(k: 100) == 100)
        #expect(VectorIndex.Precision.int4(rerank: 1_000).rerankDepth(k: 10) == 1_000)
        #expect(VectorIndex.Precision.exact.rerankDepth(k: 10) == 10)
    }

    @Test("the quantised copies reproduce the float32 scores to within the error bound, on every kernel level",
          arguments: KernelLevel.allCases, precisions)
    func errorBound(level: KernelLevel, precision: VectorIndex.Precision) throws {
        let kind = precision.scan
        let vectors = TestData.random(500, dimension: 100, seed: 23)
        let index = try TestData.index(vectors, level: level)
        let query = Vector(TestData.random(1, dimension: 100, seed: 24)[0])
        let prepared = PreparedQueries([query], dimension: 100, quantize: true)
        let stored = kind == .int8 ? index.maxScales.int8 : index.maxScales.int4
        let bound = index.quantizationErrorBound(storedScale: stored, queryScale: prepared.scales[0])
        let exact = try index.scores(query, ids: (0..<500).map(Int64.init))
        var approx = [Float](repeating: .nan, count: 500)
        index.ids.withUnsafeBufferPointer { ids in
            let heaps = index.scanner(ids).scan(prepared, plan: .all(count: 500), kind: kind, capacity: 500,
                                                floors: [-.infinity], threads: 1)
            for e in heaps[0].entries { approx[Int(e.slot)] = e.score }
        }
        var error: Float = 0
        for i in 0..<500 { error = max(error, abs(approx[i] - exact[i]!)) }
        #expect(error <= bound)
        // And the approximation is useful: typical errors are far below the worst case.
        #expect(error < (kind == .int8 ? 0.02 : 0.2))
    }
}

extension VectorIndex.Precision: CustomTestStringConvertible {
    public var testDescription: String {
        switch self {
        case .exact: "exact"
        case .int8(let r): "int8(rerank: \(r))"
        case .int4(let r): "int4(rerank: \(r))"
        }
    }
}
