import Testing
@testable import VectorScoring

@Suite("VectorIndex mutation")
struct VectorIndexMutationTests {
    @Test("upsert replaces the vector of an existing id")
    func upsertReplaces() throws {
        let v = TestData.random(3, dimension: 20, seed: 31)
        let index = try VectorIndex(dimension: 20)
        try index.upsert(id: 1, vector: Vector(v[0]))
        try index.upsert(id: 2, vector: Vector(v[1]))
        try index.upsert(id: 1, vector: Vector(v[2]))
        #expect(index.count == 2)
        let top = try index.topK(Vector(v[2]), k: 1)
        #expect(top.map(\.id) == [1])
        #expect(abs(top[0].score - 1) < 1e-6)
        let stored = index.vector(id: 1)!.values
        let expected = Vector(v[2]).normalized().values
        #expect(zip(stored, expected).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test("remove removes: the scan no longer returns it and the moved vector keeps its id",
          arguments: [VectorIndex.Precision.exact, .int8(rerank: 200), .int4(rerank: 400)])
    func removeRemoves(precision: VectorIndex.Precision) throws {
        let vectors = TestData.random(1_000, dimension: 16, seed: 32)
        let index = try TestData.index(vectors)
        index.remove(id: 10)
        index.remove(id: 10)
        index.remove(id: 12_345)
        #expect(index.count == 999)
        #expect(!index.contains(id: 10))
        #expect(index.vector(id: 10) == nil)
        #expect(try !index.topK(Vector(vectors[10]), k: 50, precision: precision).contains { $0.id == 10 })
        // The last vector (id 999) moved into slot 10 and is still found under its own id.
        #expect(try index.topK(Vector(vectors[999]), k: 1, precision: precision).map(\.id) == [999])
        let ids = (0..<1_000).map(Int64.init).filter { $0 != 10 }
        let q = Vector(vectors[500])
        #expect(try index.topK(q, k: 30, precision: precision) == TestData.bruteForce(index, ids: ids, query: q, k: 30))
    }

    @Test("removing everything and adding again works")
    func removeAllThenAdd() throws {
        let vectors = TestData.random(40, dimension: 8, seed: 33)
        let index = try TestData.index(vectors)
        for id in (0..<40).reversed() { index.remove(id: Int64(id)) }
        #expect(index.count == 0)
        #expect(try index.topK(Vector(vectors[0]), k: 3).isEmpty)
        try index.upsert(id: 77, vector: Vector(vectors[1]))
        #expect(try index.topK(Vector(vectors[1]), k: 3).map(\.id) == [77])
        index.removeAll()
        #expect(index.count == 0 && !index.contains(id: 77))
        try index.upsert(ids: [5, 6], vectors: [vectors[2], vectors[3]])
        #expect(try index.topK(Vector(vectors[3]), k: 1).map(\.id) == [6])
    }

    @Test("bulk upsert: a repeated id keeps its last vector, existing ids are replaced, large batches match small ones")
    func bulkUpsert() throws {
        let vectors = TestData.random(6_000, dimension: 12, seed: 34)
        let bulk = try VectorIndex(dimension: 12)
        try bulk.upsert(ids: (0..<6_000).map { Int64($0 % 5_000) }, vectors: vectors)  // ids 0..<1000 twice
        let single = try VectorIndex(dimension: 12)
        for (i, v) in vectors.enumerated() { try single.upsert(id: Int64(i % 5_000), vector: Vector(v)) }
        #expect(bulk.count == 5_000)
        #expect(bulk.vector(id: 3) == single.vector(id: 3))
        let q = Vector(vectors[5_003])
        #expect(try bulk.topK(q, k: 10) == single.topK(q, k: 10))
        #expect(try bulk.topK(q, k: 1).map(\.id) == [3])
    }

    @Test("zero and non-finite vectors are stored as zeros and score 0")
    func degenerateVectors() throws {
        let index = try VectorIndex(dimension: 4)
        try index.upsert(id: 1, vector: Vector([0, 0, 0, 0]))
        try index.upsert(id: 2, vector: Vector([.nan, 1, 0, 0]))
        try index.upsert(id: 3, vector: Vector([1, 0, 0, 0]))
        #expect(try index.scores(Vector([1, 1, 0, 0]), ids: [1, 2]) == [0, 0])
        #expect(try index.topK(Vector([1, 0, 0, 0]), k: 1).map(\.id) == [3])
        #expect(index.vector(id: 2) == Vector([0, 0, 0, 0]))
    }

    @Test("concurrent readers and a writer do not interfere")
    func concurrentAccess() async throws {
        let vectors = TestData.random(5_000, dimension: 32, seed: 35)
        let index = try TestData.index(vectors)
        let q = Vector(vectors[1])
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for t in 0..<4 {
                group.addTask {
                    for _ in 0..<20 {
                        if t == 0 {
                            try index.upsert(id: 100_000, vector: Vector(vectors[2]))
                            index.remove(id: 100_000)
                        } else if try index.topK(q, k: 5, threads: 1).first?.id != 1 {
                            return false
                        }
                    }
                    return true
                }
            }
            for try await ok in group { #expect(ok) }
        }
        #expect(index.count == 5_000)
    }
}
