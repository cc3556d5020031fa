extension VectorIndex {
    /// Cosine top-k of one query, best first (ties by lower id).
    /// - Parameters:
    ///   - threshold: drop scores below it.
    ///   - precision: `.exact`, or `.int8` / `.int4` for a quantised scan plus exact re-scoring (scores are
    ///     exact either way).
    ///   - filter: only these ids (nil = all). A small filter reads only the blocks holding its ids, exactly.
    ///   - threads: threads for a large scan (nil = active processor count). The scan is memory bound and
    ///     one core reads only ~14.5 GB/s here, two ~27 GB/s, so two threads nearly halve it.
    /// A `k` above `count` returns every vector that passes; `k == 0` returns none. Throws `VectorScoringError`
    /// when `query.dimension != dimension`, `k` is negative or `threshold` is NaN.
    public func topK(_ query: Vector, k: Int, threshold: Float? = nil, precision: Precision = .exact,
                     filter: Set<Int64>? = nil, threads: Int? = nil) throws -> [ScoredID] {
        try check(k: k, threshold: threshold, "VectorIndex.topK")
        try check(query, index: nil, "VectorIndex.topK")
        return lock.withReadLock {
            let k = min(k, storage.count)
            let plan = filter.map { ScanPlan(filter: $0, slots: slots, count: storage.count) }
                ?? .all(count: storage.count)
            // int8 saves nothing when the plan admits no more vectors than would be re-scored anyway.
            let effective = plan.slotCount <= precision.rerankDepth(k: k) ? .exact : precision
            return search([query], k: k, threshold: threshold, precision: effective, plan: plan, threads: threads)[0]
        }
    }

    /// Top-k of many queries at once, one result list per query in order. The scan is fused: each block of
    /// stored vectors is read once for up to 64 queries, with per-query heaps; blocks are shared out over
    /// `threads` threads (nil = active processor count). Throws `VectorScoringError` when a query does not have
    /// `dimension` floats, `k` is negative or `threshold` is NaN.
    public func topK(_ queries: [Vector], k: Int, threshold: Float? = nil, precision: Precision = .exact,
                     threads: Int? = nil) throws -> [[ScoredID]] {
        try check(k: k, threshold: threshold, "VectorIndex.topK")
        for (i, query) in queries.enumerated() { try check(query, index: i, "VectorIndex.topK") }
        return lock.withReadLock {
            let k = min(k, storage.count)
            let plan = ScanPlan.all(count: storage.count)
            let effective = plan.slotCount <= precision.rerankDepth(k: k) ? .exact : precision
            var results: [[ScoredID]] = []
            results.reserveCapacity(queries.count)
            // 64 queries per pass: the kernels keep 8 queries x 2 blocks in registers and the per-query
            // scratch (4 KB each) and heaps stay in L2; past that, passes cost a re-read of the matrix but
            // the scan is compute bound by then (64 x 1M x 384 multiply-adds per pass).
            var start = 0
            while start < queries.count {
                let end = min(start + 64, queries.count)
                results += search(Array(queries[start..<end]), k: k, threshold: threshold, precision: effective,
                                  plan: plan, threads: threads)
                start = end
            }
            return results
        }
    }

    /// Exact cosine of `query` with each of `ids` (nil for an id not stored), in the order given.
    /// Throws `VectorScoringError` when `query.dimension != dimension`.
    public func scores(_ query: Vector, ids wanted: [Int64]) throws -> [Float?] {
        try check(query, index: nil, "VectorIndex.scores")
        return lock.withReadLock {
            let prepared = PreparedQueries([query], dimension: dimension, quantize: false)
            var result = [Float?](repeating: nil, count: wanted.count)
            let found = wanted.indices.compactMap { i in slots[wanted[i]].map { (index: i, slot: $0) } }
                .sorted { $0.slot < $1.slot }
            ids.withUnsafeBufferPointer { idBuffer in
                scanner(idBuffer).exactScores(prepared, query: 0, sortedSlots: found.map(\.slot)) { i, score in
                    result[found[i].index] = score
                }
            }
            return result
        }
    }

    // The checks of a search's input, once, before the lock and the scan: past them `PreparedQueries` and the
    // kernels may assume every query has `dimension` floats, and `k` (clamped to the count) cannot overflow.

    private func check(_ query: Vector, index: Int?, _ operation: String) throws {
        guard query.dimension == dimension else {
            let which = index.map { "query \($0)" } ?? "the query"
            throw VectorScoringError(.dimensionMismatch, operation,
                                     "\(which) has dimension \(query.dimension), the index has \(dimension)")
        }
    }

    private func check(k: Int, threshold: Float?, _ operation: String) throws {
        guard k >= 0 else { throw VectorScoringError(.invalidArgument, operation, "k must not be negative, got \(k)") }
        if let threshold, threshold.isNaN {
            throw VectorScoringError(.invalidArgument, operation, "the threshold is NaN")
        }
    }

    func scanner(_ ids: UnsafeBufferPointer<Int64>) -> BlockScanner {
        BlockScanner(storage: storage, ids: ids, level: level)
    }

    /// One fused pass; called under the read lock.
    private func search(_ queries: [Vector], k: Int, threshold: Float?, precision: Precision, plan: ScanPlan,
                        threads: Int?) -> [[ScoredID]] {
        guard k > 0, plan.slotCount > 0, !queries.isEmpty else { return queries.map { _ in [] } }
        let kind = precision.scan
        let prepared = PreparedQueries(queries, dimension: dimension, quantize: kind != .exact)
        // Below ~1,024 blocks x queries (16K float32 vectors for one query) a second thread costs more to
        // start than it saves.
        let work = plan.blockCount * queries.count
        let threads = max(1, min(threads ?? Parallel.activeProcessorCount, work / 1_024))
        return ids.withUnsafeBufferPointer { idBuffer in
            let scanner = scanner(idBuffer)
            guard kind != .exact else {
                let floors = [Float](repeating: threshold ?? -.infinity, count: queries.count)
                let heaps = scanner.scan(prepared, plan: plan, kind: .exact, capacity: k, floors: floors,
                                         threads: threads)
                return heaps.map { $0.sorted().map { ScoredID(id: $0.id, score: $0.score) } }
            }
            let storedScale = kind == .int8 ? maxScales.int8 : maxScales.int4
            let floors = (0..<queries.count).map { j in
                threshold.map { $0 - quantizationErrorBound(storedScale: storedScale, queryScale: prepared.scales[j]) }
                    ?? -.infinity
            }
            let candidates = scanner.scan(prepared, plan: plan, kind: kind, capacity: precision.rerankDepth(k: k),
                                          floors: floors, threads: threads)
            let perThread = Parallel.split(queries.count, into: threads)
            let parts = Parallel.map(perThread.count) { part in
                perThread[part].map { j in
                    let slots = candidates[j].entries.map(\.slot).sorted()
                    var heap = TopKHeap(capacity: k)
                    let bar = threshold ?? -.infinity
                    scanner.exactScores(prepared, query: j, sortedSlots: slots) { i, score in
                        if score >= bar { heap.insert(score: score, id: idBuffer[Int(slots[i])], slot: slots[i]) }
                    }
                    return heap.sorted().map { ScoredID(id: $0.id, score: $0.score) }
                }
            }
            return parts.flatMap { $0 }
        }
    }

    /// A bound on |exact - quantised score| for one query, so a threshold can prune a quantised scan without
    /// losing a vector whose exact score passes. With x̂ = s·round(x/s), each component errs by at most s/2,
    /// so |x - x̂| ≤ √d·s/2; then |x·q - x̂·q̂| ≤ |x - x̂|·|q| + |x̂|·|q - q̂| with |q| = 1, |x̂| ≤ 1 + √d·s/2.
    /// `storedScale` is the largest scale stored (int8 or int4), `queryScale` the query's int8 scale.
    func quantizationErrorBound(storedScale: Float, queryScale: Float) -> Float {
        let root = Float(dimension).squareRoot()
        let storedError = root * storedScale / 2
        return storedError + (1 + storedError) * root * queryScale / 2 + 1e-4
    }
}
