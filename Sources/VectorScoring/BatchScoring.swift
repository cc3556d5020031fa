import CVectorKernels

/// Many-against-many scoring without an index.
public enum BatchScoring {
    /// The cosine of every pair: rows follow `a`, columns follow `b`; exact float32, 0 where either vector
    /// is zero. `b` is packed once into the index's block layout and `a` is scored against it in fused
    /// passes of up to 64 rows, so a 1,000 x 10,000 matrix costs one pass over `b` per 64 rows.
    /// Precondition: all vectors have the same dimension.
    public static func cosineMatrix(_ a: [Vector], _ b: [Vector]) -> [[Float]] {
        cosineMatrix(a, b, level: .best)
    }

    static func cosineMatrix(_ a: [Vector], _ b: [Vector], level: KernelLevel) -> [[Float]] {
        guard let dimension = a.first?.dimension ?? b.first?.dimension else { return [] }
        guard !b.isEmpty else { return a.map { _ in [] } }
        for v in a + b {
            precondition(v.dimension == dimension, "BatchScoring.cosineMatrix: dimensions \(v.dimension) and \(dimension) differ")
        }
        let storage = BlockStorage(dimension: dimension, capacity: b.count)
        for vector in b {
            let slot = storage.appendSlot()
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
