import Testing
@testable import VectorScoring

@Suite("VectorIndex top-k")
struct VectorIndexTopKTests {
    @Test("exact topK equals a brute-force sort, ids and order, on every kernel level", arguments: KernelLevel.allCases)
    func exactEqualsBruteForce(level: KernelLevel) throws {
        let vectors = TestData.random(3_001, dimension: 48, seed: 1)
        let index = try TestData.index(vectors, level: level)
        let ids = vectors.indices.map(Int64.init)
        for q in TestData.random(5, dimension: 48, seed: 2).map(Vector.init) {
            let got = try index.topK(q, k: 50)
            #expect(try got == TestData.bruteForce(index, ids: ids, query: q, k: 50))
            #expect(got.count == 50)
        }
    }

    @Test("exact scores agree with a double-precision cosine on every kernel level", arguments: KernelLevel.allCases)
    func scoresMatchReference(level: KernelLevel) throws {
        let vectors = TestData.random(100, dimension: 37, seed: 4)
        let index = try TestData.index(vectors, level: level)
        let q = TestData.random(1, dimension: 37, seed: 5)[0]
        let scores = try index.scores(Vector(q), ids: (0..<100).map(Int64.init))
        for (v, score) in zip(vectors, scores) {
            #expect(abs(Double(score!) - TestData.naiveCosine(v, q)) < 1e-5)
        }
    }

    @Test("equal scores come back ordered by id")
    func tiesByID() throws {
        let base = TestData.random(1, dimension: 16, seed: 6)[0]
        let index = try VectorIndex(dimension: 16)
        for id in [Int64(42), 7, 99, 3, 18] { try index.upsert(id: id, vector: Vector(base)) }
        try index.upsert(id: 1, vector: Vector(base.map { -$0 }))
        let got = try index.topK(Vector(base), k: 4)
        #expect(got.map(\.id) == [3, 7, 18, 42])
        #expect(Set(got.map(\.score)).count == 1)
    }

    @Test("threshold drops scores below it, exact and int8")
    func threshold() throws {
        let vectors = TestData.random(2_000, dimension: 32, seed: 7)
        let index = try TestData.index(vectors)
        let q = Vector(vectors[5])
        let all = try TestData.bruteForce(index, ids: vectors.indices.map(Int64.init), query: q, k: 2_000)
        let bar = all[30].score
        for precision in [VectorIndex.Precision.exact, .int8(rerank: 100), .int4(rerank: 300)] {
            let got = try index.topK(q, k: 100, threshold: bar, precision: precision)
            #expect(got == Array(all.prefix(31)))
            #expect(got.allSatisfy { $0.score >= bar })
        }
        #expect(try index.topK(q, k: 10, threshold: 1.5).isEmpty)
    }

    @Test("filter returns only the given ids, ignores unknown ones, and equals the brute force over them")
    func filter() throws {
        let vectors = TestData.random(5_000, dimension: 24, seed: 8)
        let index = try TestData.index(vectors)
        let allowed = Set(stride(from: Int64(3), to: 5_000, by: 7)).union([-1, 90_000])
        let q = Vector(TestData.random(1, dimension: 24, seed: 9)[0])
        let expected = try TestData.bruteForce(index, ids: allowed.sorted(), query: q, k: 20)
        for precision in [VectorIndex.Precision.exact, .int8(rerank: 200), .int4(rerank: 400)] {
            let got = try index.topK(q, k: 20, precision: precision, filter: allowed)
            #expect(got.allSatisfy { allowed.contains($0.id) })
            #expect(got == expected)
        }
        #expect(try index.topK(q, k: 5, filter: [4_999, 12]).map(\.id).sorted() == [12, 4_999])
        #expect(try index.topK(q, k: 5, filter: []).isEmpty)
    }

    @Test("k larger than the index returns everything; k of 0 and an empty index return nothing")
    func edgeCases() throws {
        let index = try TestData.index(TestData.random(20, dimension: 8, seed: 10))
        let q = Vector(TestData.random(1, dimension: 8, seed: 11)[0])
        #expect(try index.topK(q, k: 100).count == 20)
        #expect(try index.topK(q, k: 100, precision: .int8).count == 20)
        #expect(try index.topK(q, k: 100, precision: .int4).count == 20)
        #expect(try index.topK(q, k: 0).isEmpty)
        #expect(try VectorIndex(dimension: 8).topK(q, k: 3).isEmpty)
        #expect(try VectorIndex(dimension: 8).topK([q, q], k: 3) == [[], []])
    }

    @Test("batch topK equals single topK for each query, exact, int8 and int4, 1 and 2 threads")
    func batchEqualsSingle() throws {
        let vectors = SyntheticVectors.clustered(count: 20_000, dimension: 64, clusters: 50, seed: 12)
        let index = try TestData.index(vectors)
        let queries = SyntheticVectors.clustered(count: 70, dimension: 64, clusters: 50, seed: 13).map(Vector.init)
        for precision in [VectorIndex.Precision.exact, .int8, .int4] {
            let singles = try queries.map { try index.topK($0, k: 25, precision: precision, threads: 1) }
            for threads in [1, 2] {
                #expect(try index.topK(queries, k: 25, precision: precision, threads: threads) == singles)
            }
            #expect(try queries.prefix(3).map { try index.topK($0, k: 25, precision: precision, threads: 2) } == Array(singles.prefix(3)))
        }
    }

    @Test("scores returns exact cosines in the order asked, nil for unknown ids")
    func scores() throws {
        let vectors = TestData.random(40, dimension: 12, seed: 14)
        let index = try TestData.index(vectors, firstID: 100)
        let q = Vector(vectors[3])
        let got = try index.scores(q, ids: [139, 5, 103, 100])
        #expect(got[1] == nil)
        #expect(abs(got[2]! - 1) < 1e-6)
        #expect(abs(Double(got[0]!) - TestData.naiveCosine(vectors[39], vectors[3])) < 1e-5)
        #expect(abs(Double(got[3]!) - TestData.naiveCosine(vectors[0], vectors[3])) < 1e-5)
    }
}

extension KernelLevel: CustomTestStringConvertible {
    public var testDescription: String { description }
}
