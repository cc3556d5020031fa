/// An in-memory matrix of normalised vectors keyed by Int64 ids, for repeated exact and quantized top-k
/// scans (cosine, as a dot product of normalised vectors).
///
/// Storage (see `BlockStorage`): blocks of 16 vectors stored dimension-major in one contiguous, 2 MiB-aligned
/// buffer with huge pages requested, plus int8 and int4 copies (one scale per vector) in two more for the
/// fast scans. 1M x 384 takes 1.5 + 0.4 + 0.2 GB. Measured on a shared 2-core Sapphire Rapids VM
/// (`VectorBenchmark`, best quiet runs), top-100 of 1M x 384: int8 + re-score 18 ms on 2 threads (28-34 on 1,
/// where one core reads only ~14.5 GB/s), int4 + re-score 17-21 ms on 1 thread, exact 61 ms (2 threads) /
/// 102 ms (1); recall@100 1.0 (int4: 0.9995) on clustered data. Batches of 64: 2.0 ms per query with int8
/// (3.4 on 1 thread), 4.8 ms exact. numpy on the same data: 125 ms per query, 25 ms in a batch.
///
/// Thread safety: every method may be called from any thread. Reads (`topK`, `scores`, `vector`, ...) run
/// concurrently under a reader-writer lock; writes (`upsert`, `remove`) wait for running reads and run
/// alone. So the index can sit in a `Sendable` cache as it is, with or without an outer `Mutex`.
public final class VectorIndex: @unchecked Sendable {
    /// How `topK` scores. The quantised scans keep the best `rerank` candidates by approximate score and
    /// re-score those exactly, so results and scores are exact float32 either way; only recall can suffer.
    public enum Precision: Sendable, Equatable {
        /// Exact float32 scores of every vector. Memory bound: 1.5 GB read for 1M x 384.
        case exact
        /// An int8 scan (a quarter of the bytes). `rerank` is raised to at least `k`; 0 or less means the
        /// default, max(400, 4k). VECTOR_NOTES: recall 0.97-0.98 before re-scoring and 1.00 after re-scoring
        /// the best 400 (1M x 384); the same here on clustered data.
        case int8(rerank: Int)
        /// An int4 scan (an eighth of the bytes: half the time of int8 where the scan is memory bound, as on
        /// one core here: 13 vs 25 ms of kernel time for 1M x 384). `rerank` is raised to at least `k`; 0 or
        /// less means max(800, 8k): with 400 re-scored, recall@100 was 0.9975 on 1M clustered vectors.
        /// Vectors with a few dominant components (such as hashed sparse features) quantise poorly to 15
        /// levels, so check recall on your data (`VectorBenchmark` prints it) before choosing it. For batches
        /// prefer int8: there the scan is compute bound and the deeper re-score costs more than it saves
        /// (64 queries: 5.4 vs 3.4 ms per query on one thread).
        case int4(rerank: Int)

        /// The int8 scan with the default re-scoring depth.
        public static var int8: Precision { .int8(rerank: 0) }
        /// The int4 scan with the default re-scoring depth.
        public static var int4: Precision { .int4(rerank: 0) }

        /// `k` is at most the index's count (`topK` clamps it), so 8k cannot overflow.
        func rerankDepth(k: Int) -> Int {
            switch self {
            case .exact: k
            case .int8(let rerank): rerank > 0 ? max(rerank, k) : max(400, 4 * k)
            case .int4(let rerank): rerank > 0 ? max(rerank, k) : max(800, 8 * k)
            }
        }

        var scan: BlockScanner.Kind {
            switch self {
            case .exact: .exact
            case .int8: .int8
            case .int4: .int4
            }
        }
    }

    /// The dimension every stored vector and query must have.
    public let dimension: Int

    let lock = ReadWriteLock()
    let storage: BlockStorage
    /// ids[slot]; guarded by `lock`.
    var ids: [Int64] = []
    /// slot of each id; guarded by `lock`.
    var slots: [Int64: Int32] = [:]
    /// The largest int8 and int4 scales stored so far (never lowered): they bound the quantisation error
    /// for threshold pruning.
    var maxScales: (int8: Float, int4: Float) = (0, 0)
    let level: KernelLevel

    /// An empty index. `capacity` reserves room for that many vectors up front. Throws `VectorScoringError`
    /// when `dimension` is not in 1...`Vector.maximumDimension`, or `capacity` is negative or cannot be mapped.
    public convenience init(dimension: Int, capacity: Int = 0) throws {
        try self.init(dimension: dimension, capacity: capacity, level: .best)
    }

    /// Tests force a lower kernel level with this; levels above what the CPU has are clamped in C.
    init(dimension: Int, capacity: Int, level: KernelLevel) throws {
        try VectorScoringError.checkDimension(dimension, "VectorIndex")
        self.dimension = dimension
        self.level = level
        storage = try BlockStorage(dimension: dimension, capacity: capacity)
        slots.reserveCapacity(capacity)
        ids.reserveCapacity(capacity)
    }

    /// The number of stored vectors.
    public var count: Int { lock.withReadLock { storage.count } }

    /// Stores `vector` (normalised) under `id`, replacing what `id` had. A zero or non-finite vector is stored
    /// as zeros and scores 0 against every query. Throws `VectorScoringError` when `vector.dimension` is not
    /// `dimension` or the storage cannot grow; the index is then unchanged.
    public func upsert(id: Int64, vector: Vector) throws {
        guard vector.dimension == dimension else {
            throw VectorScoringError(.dimensionMismatch, "VectorIndex.upsert",
                                     "the vector has dimension \(vector.dimension), the index has \(dimension)")
        }
        try lock.withWriteLock {
            try vector.values.withUnsafeBufferPointer { try store(id: id, values: $0) }
        }
    }

    /// Stores many vectors at once (one lock, one growth step); a repeated id keeps its last vector.
    /// Large batches are written by up to `threads` threads (nil = active processor count), each filling
    /// whole blocks. Throws `VectorScoringError` when the counts differ, a vector does not have `dimension`
    /// floats, or the storage cannot grow; the index is then unchanged (all checks come before the first write).
    public func upsert(ids newIDs: [Int64], vectors: [[Float]], threads: Int? = nil) throws {
        guard newIDs.count == vectors.count else {
            throw VectorScoringError(.invalidArgument, "VectorIndex.upsert", "\(newIDs.count) ids but \(vectors.count) vectors")
        }
        if let i = vectors.firstIndex(where: { $0.count != dimension }) {
            throw VectorScoringError(.dimensionMismatch, "VectorIndex.upsert",
                                     "vector \(i) has dimension \(vectors[i].count), the index has \(dimension)")
        }
        try lock.withWriteLock {
            let added = Set(newIDs.lazy.filter { self.slots[$0] == nil }).count
            try storage.reserve(storage.count + added)
            guard newIDs.count >= 4_096 else {
                for (id, values) in zip(newIDs, vectors) { try values.withUnsafeBufferPointer { try store(id: id, values: $0) } }
                return
            }
            // Slots are assigned first, serially (the dictionary is not shareable); then the vectors are written
            // block range by block range in parallel. source[slot] = which input lands there (last one wins).
            slots.reserveCapacity(storage.count + added)
            ids.reserveCapacity(storage.count + added)
            var source = [Int32](repeating: -1, count: storage.count + added)
            for (i, id) in newIDs.enumerated() {
                let slot: Int
                if let existing = slots[id] {
                    slot = Int(existing)
                } else {
                    // Room for every added id was reserved above, so this does not grow (or throw).
                    slot = try storage.appendSlot()
                    ids.append(id)
                    slots[id] = Int32(slot)
                }
                source[slot] = Int32(i)
            }
            let storage = storage
            let parts = Parallel.split(storage.blockCount, into: threads ?? Parallel.activeProcessorCount)
            let maxima = source.withUnsafeBufferPointer { source in
                Parallel.map(parts.count) { part -> (Float, Float) in
                    var largest: (Float, Float) = (0, 0)
                    for slot in (parts[part].lowerBound * 16)..<min(parts[part].upperBound * 16, source.count) {
                        let i = Int(source[slot])
                        guard i >= 0 else { continue }
                        let scales = vectors[i].withUnsafeBufferPointer { storage.write(slot: slot, values: $0) }
                        largest = (max(largest.0, scales.int8), max(largest.1, scales.int4))
                    }
                    return largest
                }
            }
            for m in maxima { raiseMaxScales(m) }
        }
    }

    /// Removes every vector (the memory stays reserved for refilling).
    public func removeAll() {
        lock.withWriteLock {
            storage.removeAll()
            ids.removeAll(keepingCapacity: true)
            slots.removeAll(keepingCapacity: true)
            maxScales = (0, 0)
        }
    }

    /// Removes `id` if present: the last stored vector moves into its slot.
    public func remove(id: Int64) {
        lock.withWriteLock {
            guard let slot = slots.removeValue(forKey: id).map(Int.init) else { return }
            let moved = storage.removeBySwappingLast(into: slot)
            if moved != slot {
                let movedID = ids[moved]
                ids[slot] = movedID
                slots[movedID] = Int32(slot)
            }
            ids.removeLast()
        }
    }

    /// Whether `id` is stored.
    public func contains(id: Int64) -> Bool {
        lock.withReadLock { slots[id] != nil }
    }

    /// The stored (normalised) vector of `id`.
    public func vector(id: Int64) -> Vector? {
        lock.withReadLock { slots[id].map { Vector(storage.read(slot: Int($0))) } }
    }

    /// Writes one vector; called under the write lock. The caller has checked the dimension.
    private func store(id: Int64, values: UnsafeBufferPointer<Float>) throws {
        let slot: Int
        if let existing = slots[id] {
            slot = Int(existing)
        } else {
            slot = try storage.appendSlot()
            ids.append(id)
            // `reserve` caps the count at Int32.max, so the conversion cannot trap.
            slots[id] = Int32(slot)
        }
        let scales = storage.write(slot: slot, values: values)
        raiseMaxScales((scales.int8, scales.int4))
    }

    private func raiseMaxScales(_ scales: (Float, Float)) {
        maxScales = (max(maxScales.int8, scales.0), max(maxScales.int4, scales.1))
    }
}
