import Testing
@testable import VectorScoring

@Suite("VectorIndex int8 scan")
struct VectorIndexInt8Tests {
    @Test("int8 + re-score has recall@100 >= 0.99 on 20k clustered vectors, with exact scores", arguments: KernelLevel.allCases)
    func recall(level: KernelLevel) {
        let vectors = SyntheticVectors.clustered(count: 20_000, dimension: 384, clusters: 100, seed: 21)
        let index = TestData.index(vectors, level: level)
        let queries = SyntheticVectors.clustered(count: 20, dimension: 384, clusters: 100, seed: 22).map(Vector.init)
        var hits = 0
        for q in queries {
            let exact = index.topK(q, k: 100)
            let fast = index.topK(q, k: 100, precision: .int8)
            hits += Set(exact.map(\.id)).intersection(fast.map(\.id)).count
            // Re-scored results carry the exact scores, in the exact order.
            let exactByID = Dictionary(uniqueKeysWithValues: exact.map { ($0.id, $0.score) })
            for r in fast where exactByID[r.id] != nil { #expect(exactByID[r.id] == r.score) }
            #expect(fast == fast.sorted { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) })
        }
        #expect(Double(hits) / Double(queries.count * 100) >= 0.99)
    }

    @Test("the default re-scoring depth is max(400, 4k) and never below k")
    func rerankDepth() {
        #expect(VectorIndex.Precision.int8.rerankDepth(k: 100) == 400)
        #expect(VectorIndex.Precision.int8.rerankDepth(k: 200) == 800)
        #expect(VectorIndex.Precision.int8(rerank: 50).rerankDepth(k: 100) == 100)
        #expect(VectorIndex.Precision.int8(rerank: 1_000).rerankDepth(k: 10) == 1_000)
    }

    @Test("the stored int8 copy reproduces the float32 scores to within the error bound")
    func errorBound() {
        let vectors = TestData.random(500, dimension: 100, seed: 23)
        let index = TestData.index(vectors)
        let query = Vector(TestData.random(1, dimension: 100, seed: 24)[0])
        let prepared = PreparedQueries([query], dimension: 100, quantize: true)
        let bound = index.int8ErrorBound(queryScale: prepared.scales[0])
        let exact = index.scores(query, ids: (0..<500).map(Int64.init))
        var approx = [Float](repeating: 0, count: 512)
        index.ids.withUnsafeBufferPointer { ids in
            let plan = ScanPlan.all(count: 500)
            let heaps = index.scanner(ids).scan(prepared, plan: plan, approximate: true, capacity: 500,
                                                floors: [-.infinity], threads: 1)
            for e in heaps[0].entries { approx[Int(e.slot)] = e.score }
        }
        for i in 0..<500 { #expect(abs(approx[i] - exact[i]!) <= bound) }
    }
}
