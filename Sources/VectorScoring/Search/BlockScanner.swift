import CVectorKernels

/// Runs the C kernels over a `ScanPlan` for a set of prepared queries and keeps the best candidates of each
/// query. The kernels score a chunk of blocks for every query into a scratch buffer (the fused scan: each
/// stored block is read from memory once for all queries); `bl_select_at_least` then picks the few lanes at
/// or above each query's current entry bar, and only those touch the heap.
/// Lives for one call, under the index's read lock.
struct BlockScanner {
    let storage: BlockStorage
    let ids: UnsafeBufferPointer<Int64>
    let level: KernelLevel

    /// Which copy a scan reads.
    enum Kind: Sendable {
        case exact, int8, int4
    }

    /// 64 blocks = 1,024 vectors per kernel call: 1.5 MB of float32 (384-d), 384 KB of int8 rows, and 4 KB
    /// of scores per query, which stay in L1/L2 for the selection that follows.
    static let chunkBlocks = 64

    /// The best `capacity` candidates per query among the plan's blocks, by exact, int8 or int4 scores.
    /// `floors[j]` drops candidates of query j below it. Blocks are shared out over `threads` threads.
    func scan(_ queries: PreparedQueries, plan: ScanPlan, kind: Kind, capacity: Int, floors: [Float],
              threads: Int) -> [TopKHeap] {
        let parts = plan.split(into: threads)
        let partials = Parallel.map(parts.count) { part in
            scanPart(queries, runs: parts[part], masks: plan.masks, kind: kind, capacity: capacity, floors: floors)
        }
        var heaps = partials[0]
        for partial in partials.dropFirst() {
            for j in heaps.indices { heaps[j].merge(partial[j]) }
        }
        return heaps
    }

    private func scanPart(_ queries: PreparedQueries, runs: [Range<Int>], masks: [UInt16]?, kind: Kind,
                          capacity: Int, floors: [Float]) -> [TopKHeap] {
        let nq = queries.count
        let stride = Self.chunkBlocks * 16
        var heaps = [TopKHeap](repeating: TopKHeap(capacity: capacity), count: nq)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nq * stride)
        let picked = UnsafeMutablePointer<UInt32>.allocate(capacity: stride)
        defer {
            scratch.deallocate()
            picked.deallocate()
        }
        let count = storage.count
        let level = level.rawValue
        for run in runs {
            var block = run.lowerBound
            while block < run.upperBound {
                let n = min(Self.chunkBlocks, run.upperBound - block)
                switch kind {
                case .exact:
                    bl_f32_scores(level, storage.floats + block * storage.floatsPerBlock, n, storage.dimension,
                                  queries.floats.baseAddress, nq, queries.dimension, scratch, stride)
                case .int8:
                    bl_i8_scores(level, storage.bytes + block * storage.bytesPerBlock, n, storage.groups,
                                 storage.scales + block * 16, queries.bytes.baseAddress, nq, queries.byteStride,
                                 queries.scales.baseAddress, queries.sums.baseAddress, scratch, stride)
                case .int4:
                    bl_i4_scores(level, storage.nibbles + block * storage.nibbleBytesPerBlock, n,
                                 storage.nibbleGroups, storage.scales4 + block * 16, queries.bytes.baseAddress, nq,
                                 queries.byteStride, queries.scales.baseAddress, queries.sums.baseAddress, scratch,
                                 stride)
                }
                let firstSlot = block * 16
                for j in 0..<nq {
                    let scores = scratch + j * stride
                    let bar = max(heaps[j].floor, floors[j])
                    let found = bl_select_at_least(level, scores, n * 16, bar, picked)
                    for i in 0..<found {
                        let lane = Int(picked[i])
                        let slot = firstSlot + lane
                        guard slot < count else { continue }
                        if let masks, masks[slot >> 4] & (1 << UInt16(slot & 15)) == 0 { continue }
                        heaps[j].insert(score: scores[lane], id: ids[slot], slot: Int32(slot))
                    }
                }
                block += n
            }
        }
        return heaps
    }

    /// Exact scores of `slots` (sorted ascending) for query `j`, block by block: a vector's 384 floats sit in
    /// 384 different cache lines of its block, so scoring it costs reading the whole 24 KB block, and the 16
    /// lanes of that block come for free.
    func exactScores(_ queries: PreparedQueries, query j: Int, sortedSlots slots: [Int32],
                     _ body: (_ index: Int, _ score: Float) -> Void) {
        var out = SIMD16<Float>()
        withUnsafeMutableBytes(of: &out) { raw in
            // The 64 bytes of a SIMD16<Float> always have an address.
            let out = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            var i = 0
            while i < slots.count {
                let block = Int(slots[i]) >> 4
                bl_f32_scores(level.rawValue, storage.floats + block * storage.floatsPerBlock, 1, storage.dimension,
                              queries.floats(j), 1, queries.dimension, out, 16)
                while i < slots.count, Int(slots[i]) >> 4 == block {
                    body(i, out[Int(slots[i]) & 15])
                    i += 1
                }
            }
        }
    }
}
