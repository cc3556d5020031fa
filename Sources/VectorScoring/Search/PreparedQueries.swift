/// Queries laid out for the kernels: normalised float32 rows and, for the int8 scan, their quantised copies
/// (same per-vector scaling as the stored vectors: scale = max |x| / 127, values rounded to -127...127).
struct PreparedQueries {
    let count: Int
    let dimension: Int
    let groups: Int
    var floats: [Float]
    var bytes: [Int8]
    var scales: [Float]
    var sums: [Int32]

    init(_ queries: [Vector], dimension: Int, quantize: Bool) {
        self.count = queries.count
        self.dimension = dimension
        self.groups = (dimension + 3) / 4
        floats = []
        floats.reserveCapacity(queries.count * dimension)
        for query in queries {
            precondition(query.dimension == dimension,
                         "VectorIndex: query has dimension \(query.dimension), the index has \(dimension)")
            floats.append(contentsOf: Vector.normalizedValues(query.values))
        }
        bytes = []
        scales = []
        sums = []
        if quantize { self.quantize() }
    }

    var byteStride: Int { groups * 4 }

    private mutating func quantize() {
        bytes = [Int8](repeating: 0, count: count * byteStride)
        scales = [Float](repeating: 0, count: count)
        sums = [Int32](repeating: 0, count: count)
        for j in 0..<count {
            let row = floats[(j * dimension)..<((j + 1) * dimension)]
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
}
