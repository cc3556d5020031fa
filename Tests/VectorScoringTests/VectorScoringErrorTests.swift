import Testing
@testable import VectorScoring

/// Input that used to trap (a precondition, an overflow, a failed mmap) is refused with a `VectorScoringError`,
/// before anything is changed.
@Suite("VectorScoring refuses bad input with errors")
struct VectorScoringErrorTests {
    @Test("VectorMath.dot and cosine with different dimensions throw instead of trapping")
    func mathDimensions() throws {
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorMath.dot", "dimensions 1 and 2 differ")) {
            try VectorMath.dot(Vector([1]), Vector([1, 2]))
        }
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorMath.cosine", "dimensions 3 and 2 differ")) {
            try VectorMath.cosine(Vector([1, 2, 3]), Vector([1, 2]))
        }
        let a: [Float] = [1, 2], b: [Float] = [1]
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorMath.dot", "dimensions 2 and 1 differ")) {
            try a.withUnsafeBufferPointer { pa in try b.withUnsafeBufferPointer { pb in try VectorMath.dot(pa, pb) } }
        }
        #expect(try VectorMath.dot(Vector([]), Vector([])) == 0)
    }

    @Test("VectorIndex with a dimension outside 1...65536 or a negative capacity throws instead of trapping")
    func indexArguments() throws {
        for dimension in [0, -1, 65_537, Int.max] {
            #expect(throws: VectorScoringError(.invalidDimension, "VectorIndex",
                                               "dimension \(dimension) is not in 1...65536")) {
                try VectorIndex(dimension: dimension)
            }
        }
        #expect(throws: VectorScoringError(.invalidArgument, "VectorIndex", "capacity must not be negative, got -1")) {
            try VectorIndex(dimension: 4, capacity: -1)
        }
        #expect((try? VectorIndex(dimension: 65_536))?.dimension == 65_536)
    }

    @Test("VectorIndex with a capacity that cannot be mapped throws instead of trapping on overflow or a failed mmap")
    func indexCapacity() throws {
        for capacity in [Int.max, Int(Int32.max) + 1] {
            let error = try #require(throws: VectorScoringError.self) { try VectorIndex(dimension: 384, capacity: capacity) }
            #expect(error.code == .outOfMemory)
        }
        // 2^31 - 1 vectors of 65,536 floats: 2^49 bytes, more than any machine maps.
        let error = try #require(throws: VectorScoringError.self) {
            try VectorIndex(dimension: 65_536, capacity: Int(Int32.max))
        }
        #expect(error.code == .outOfMemory)
        #expect(error.reason.hasPrefix("cannot map "))
    }

    @Test("AlignedBuffer throws on a size it cannot map instead of calling fatalError")
    func alignedBuffer() throws {
        #expect(throws: VectorScoringError.self) { _ = try AlignedBuffer(byteCount: Int.max) }
        #expect(throws: VectorScoringError.self) { _ = try AlignedBuffer(byteCount: -1) }
        #expect(throws: VectorScoringError.self) { _ = try AlignedBuffer(byteCount: 1 << 60) }
        let small = try AlignedBuffer(byteCount: 10)
        #expect(small.byteCount == 4096)
    }

    @Test("upsert of a vector of another dimension throws and leaves the index unchanged")
    func upsertDimensions() throws {
        let index = try VectorIndex(dimension: 3)
        try index.upsert(id: 1, vector: Vector([1, 0, 0]))
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorIndex.upsert",
                                           "the vector has dimension 2, the index has 3")) {
            try index.upsert(id: 2, vector: Vector([1, 0]))
        }
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorIndex.upsert",
                                           "vector 1 has dimension 4, the index has 3")) {
            try index.upsert(ids: [3, 4], vectors: [[1, 0, 0], [1, 0, 0, 0]])
        }
        #expect(throws: VectorScoringError(.invalidArgument, "VectorIndex.upsert", "2 ids but 1 vectors")) {
            try index.upsert(ids: [3, 4], vectors: [[1, 0, 0]])
        }
        #expect(index.count == 1 && !index.contains(id: 3))
    }

    @Test("topK and scores with a query of another dimension throw instead of trapping")
    func queryDimensions() throws {
        let index = try TestData.index(TestData.random(40, dimension: 8, seed: 5))
        let wrong = Vector([1, 2])
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorIndex.topK",
                                           "the query has dimension 2, the index has 8")) {
            try index.topK(wrong, k: 3)
        }
        let good = Vector(TestData.random(1, dimension: 8, seed: 6)[0])
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorIndex.topK",
                                           "query 1 has dimension 2, the index has 8")) {
            try index.topK([good, wrong], k: 3)
        }
        #expect(throws: VectorScoringError(.dimensionMismatch, "VectorIndex.scores",
                                           "the query has dimension 2, the index has 8")) {
            try index.scores(wrong, ids: [1])
        }
    }

    @Test("topK with a negative k or a NaN threshold throws; a huge k or rerank depth returns everything")
    func topKArguments() throws {
        let index = try TestData.index(TestData.random(40, dimension: 8, seed: 5))
        let q = Vector(TestData.random(1, dimension: 8, seed: 6)[0])
        #expect(throws: VectorScoringError(.invalidArgument, "VectorIndex.topK", "k must not be negative, got -1")) {
            try index.topK(q, k: -1)
        }
        #expect(throws: VectorScoringError(.invalidArgument, "VectorIndex.topK", "the threshold is NaN")) {
            try index.topK(q, k: 3, threshold: .nan)
        }
        let all = try index.topK(q, k: 40)
        for precision in [VectorIndex.Precision.exact, .int8, .int4, .int8(rerank: .max), .int4(rerank: .max)] {
            #expect(try index.topK(q, k: .max, precision: precision) == all)
            #expect(try index.topK([q, q], k: .max, precision: precision) == [all, all])
        }
        #expect(try index.topK(q, k: .max, filter: [1, 2]).count == 2)
    }

    @Test("cosineMatrix with mixed dimensions or an empty dimension throws instead of trapping")
    func matrixDimensions() throws {
        #expect(throws: VectorScoringError(.dimensionMismatch, "BatchScoring.cosineMatrix",
                                           "dimensions 2 and 3 differ (a[0] and b[1])")) {
            try BatchScoring.cosineMatrix([Vector([1, 0])], [Vector([1, 0]), Vector([1, 0, 0])])
        }
        #expect(throws: VectorScoringError(.dimensionMismatch, "BatchScoring.cosineMatrix",
                                           "dimensions 2 and 1 differ (a[0] and a[1])")) {
            try BatchScoring.cosineMatrix([Vector([1, 0]), Vector([1])], [])
        }
        #expect(throws: VectorScoringError(.invalidDimension, "BatchScoring.cosineMatrix",
                                           "dimension 0 is not in 1...65536")) {
            try BatchScoring.cosineMatrix([Vector([])], [Vector([])])
        }
    }

    @Test("infinite and NaN components are stored as zeros on every kernel level, in all three copies",
          arguments: KernelLevel.allCases)
    func nonFiniteStoredAsZeros(level: KernelLevel) throws {
        let index = try VectorIndex(dimension: 12, capacity: 0, level: level)
        let good = TestData.random(600, dimension: 12, seed: 9)
        try index.upsert(ids: good.indices.map(Int64.init), vectors: good)
        var bad = [Float](repeating: 1, count: 12)
        bad[3] = .infinity
        try index.upsert(id: 1_000, vector: Vector(bad))
        bad[3] = .nan
        try index.upsert(id: 1_001, vector: Vector(bad))
        #expect(index.vector(id: 1_000) == Vector([Float](repeating: 0, count: 12)))
        #expect(try index.scores(Vector([Float](repeating: 1, count: 12)), ids: [1_000, 1_001]) == [0, 0])
        // Slots 600 and 601: the int8 rows hold 128 (zero) and the int4 rows 0x88 (zero, zero) in their lanes.
        let storage = index.storage
        for slot in [600, 601] {
            let block = slot >> 4, lane = slot & 15
            for g in 0..<storage.groups {
                let b = storage.bytes + block * storage.bytesPerBlock + g * 64 + lane * 4
                #expect((0..<4).allSatisfy { b[$0] == 128 })
            }
            for g in 0..<storage.nibbleGroups {
                let n = storage.nibbles + block * storage.nibbleBytesPerBlock + g * 64 + lane * 4
                #expect((0..<4).allSatisfy { n[$0] == 0x88 })
            }
            #expect(storage.scales[slot] == 0 && storage.scales4[slot] == 0)
        }
        for precision in [VectorIndex.Precision.exact, .int8(rerank: 50), .int4(rerank: 50)] {
            let hits = try index.topK(Vector([Float](repeating: 1, count: 12)), k: 10, precision: precision)
            #expect(hits.count == 10 && hits.allSatisfy { !$0.score.isNaN && $0.id < 1_000 })
        }
    }
}
