import CVectorKernels

/// Many-against-many scoring without an index.
public enum BatchScoring {
    /// The cosine of every pair: rows follow `a`, columns follow `b`; exact float32, 0 where either vector
    /// is zero. `b` is packed once into the index's block layout and `a` is scored against it in fused
    /// passes of up to 64 rows, so a 1,000 x 10,000 matrix costs one pass over `b` per 64 rows.
    /// Throws `VectorScoringError` when the vectors do not all have one dimension in 1...`Vector.maximumDimension`,
    /// or the memory for `b` cannot be mapped. The result has `a.count * b.count` floats: bounding that is the
    /// caller's business (the Lua binding does).
    public static func cosineMatrix(_ a: [Vector], _ b: [Vector]) throws -> [[Float]] {
        try cosineMatrix(a, b, level: .best)
    }

    static func cosineMatrix(_ a: [Vector], _ b: [Vector], level: KernelLevel) throws -> [[Float]] {
        guard let dimension = a.first?.dimension ?? b.first?.dimension else { return [] }
        try VectorScoringError.checkDimension(dimension, "BatchScoring.cosineMatrix")
        for (name, list) in [("a", a), ("b", b)] {
            if let i = list.firstIndex(where: { $0.dimension != dimension }) {
                let first = a.isEmpty ? "b[0]" : "a[0]"
                throw VectorScoringError(.dimensionMismatch, "BatchScoring.cosineMatrix",
                                         "dimensions \(dimension) and \(list[i].dimension) differ (\(first) and \(name)[\(i)])")
            }
        }
        guard !b.isEmpty else { return a.map { _ in [] } }
        let storage = try BlockStorage(dimension: dimension, capacity: b.count)
        for vector in b {
            // Room for all of `b` was reserved above, so this does not grow (or throw).
            let slot = try storage.appendSlot()
            _ = vector.values.withUnsafeBufferPointer { storage.write(slot: slot, values: $0) }
        }
        let columns = b.count
        let stride = storage.blockCount * 16
        var rows: [[Float]] = []
        rows.reserveCapacity(a.count)
        var start = 0
        while start < a.count {
            let end = min(start + 64, a.count)
            let queries = PreparedQueries(Array(a[start..<end]), dimension: dimension, quantize: false)
            var out = [Float](repeating: 0, count: queries.count * stride)
            out.withUnsafeMutableBufferPointer { o in
                bl_f32_scores(level.rawValue, storage.floats, storage.blockCount, dimension, queries.floats.baseAddress,
                              queries.count, dimension, o.baseAddress, stride)
            }
            for j in 0..<queries.count {
                rows.append(out[(j * stride)..<(j * stride + columns)].map { min(1, max(-1, $0)) })
            }
            start = end
        }
        return rows
    }
}
