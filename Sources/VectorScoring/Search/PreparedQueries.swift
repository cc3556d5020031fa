/// Queries laid out for the kernels: normalised float32 rows and, for the int8 scan, their quantised copies
/// (same per-vector scaling as the stored vectors: scale = max |x| / 127, values rounded to -127...127,
/// zero padded to whole groups of 8 for the int8 and int4 kernels). Owns its memory, so the kernels get plain
/// pointers.
final class PreparedQueries {
    let count: Int
    let dimension: Int
    let byteStride: Int
    let floats: UnsafeMutableBufferPointer<Float>
    let bytes: UnsafeMutableBufferPointer<Int8>
    let scales: UnsafeMutableBufferPointer<Float>
    let sums: UnsafeMutableBufferPointer<Int32>

    /// Precondition: every query has `dimension` floats. The public entry points (`VectorIndex`'s searches,
    /// `BatchScoring`) check that and throw before building this, so only a bug in this module can trap here.
    init(_ queries: [Vector], dimension: Int, quantize: Bool) {
        count = queries.count
        self.dimension = dimension
        byteStride = (dimension + 7) / 8 * 8
        floats = .allocate(capacity: max(1, count * dimension))
        bytes = .allocate(capacity: quantize ? max(1, count * byteStride) : 1)
        scales = .allocate(capacity: max(1, count))
        sums = .allocate(capacity: max(1, count))
        bytes.initialize(repeating: 0)
        scales.initialize(repeating: 0)
        sums.initialize(repeating: 0)
        for (j, query) in queries.enumerated() {
            precondition(query.dimension == dimension,
                         "VectorIndex: query has dimension \(query.dimension), the index has \(dimension)")
            let row = Vector.normalizedValues(query.values)
            _ = UnsafeMutableBufferPointer(rebasing: floats[(j * dimension)..<((j + 1) * dimension)]).initialize(from: row)
            if quantize { self.quantize(row, into: j) }
        }
    }

    deinit {
        floats.deallocate()
        bytes.deallocate()
        scales.deallocate()
        sums.deallocate()
    }

    /// Query j's float32 row. (`allocate` gave at least one element, so the base address is never nil.)
    func floats(_ j: Int) -> UnsafeMutablePointer<Float> { floats.baseAddress! + j * dimension }

    private func quantize(_ row: [Float], into j: Int) {
        let maxAbs = row.reduce(Float(0)) { max($0, abs($1)) }
        let scale = maxAbs / 127
        let inverse: Float = scale > 0 ? 1 / scale : 0
        var sum: Int32 = 0
        for (d, x) in row.enumerated() {
            let q = BlockStorage.quantize(x * inverse)
            bytes[j * byteStride + d] = Int8(q)
            sum += q
        }
        scales[j] = scale
        sums[j] = sum
    }
}
