/// Dot products and cosines of single vectors, in portable Swift SIMD: these are one-off calls on a few
/// hundred floats, where the C kernels' dispatch would cost more than it saves.
public enum VectorMath {
    /// The dot product. Throws `VectorScoringError` (`.dimensionMismatch`) when the dimensions differ.
    public static func dot(_ a: Vector, _ b: Vector) throws -> Float {
        guard a.dimension == b.dimension else { throw VectorScoringError.dimensions("VectorMath.dot", a.dimension, b.dimension) }
        return a.values.withUnsafeBufferPointer { pa in b.values.withUnsafeBufferPointer { pb in dot(unchecked: pa, pb) } }
    }

    /// The cosine similarity in [-1, 1]; 0 when either vector is zero. Throws `VectorScoringError`
    /// (`.dimensionMismatch`) when the dimensions differ.
    public static func cosine(_ a: Vector, _ b: Vector) throws -> Float {
        guard a.dimension == b.dimension else {
            throw VectorScoringError.dimensions("VectorMath.cosine", a.dimension, b.dimension)
        }
        return a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                let denominator = (dot(unchecked: pa, pa) * dot(unchecked: pb, pb)).squareRoot()
                guard denominator > 0, denominator.isFinite else { return 0 }
                return min(1, max(-1, dot(unchecked: pa, pb) / denominator))
            }
        }
    }

    /// The dot product of two buffers. Throws `VectorScoringError` (`.dimensionMismatch`) when the counts differ.
    public static func dot(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) throws -> Float {
        guard a.count == b.count else { throw VectorScoringError.dimensions("VectorMath.dot", a.count, b.count) }
        return dot(unchecked: a, b)
    }

    /// The dot product of two buffers whose counts the caller has already compared (or that are one buffer).
    static func dot(unchecked a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>) -> Float {
        // Every caller in this module passes one buffer twice or two whose counts it checked; no outside value
        // reaches here, so a mismatch is a bug in this module and trapping on it is right.
        precondition(a.count == b.count, "VectorMath.dot: lengths \(a.count) and \(b.count) differ")
        guard let pa = a.baseAddress, let pb = b.baseAddress else { return 0 }
        let n = a.count
        // Two independent accumulators hide the add latency; the final reduction is written out lane by
        // lane because SIMD.sum() compiles to a sequential chain (VECTOR_NOTES).
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        let ra = UnsafeRawPointer(pa), rb = UnsafeRawPointer(pb)
        while i + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: i * 4 + 32, as: SIMD8<Float>.self)
            i += 16
        }
        let v = acc0 + acc1
        let v4 = v.lowHalf + v.highHalf
        let v2 = v4.lowHalf + v4.highHalf
        var total = v2[0] + v2[1]
        while i < n {
            total += pa[i] * pb[i]
            i += 1
        }
        return total
    }
}
