/// A dense float32 vector (an embedding). A value type over one contiguous array.
public struct Vector: Sendable, Equatable, Hashable {
    /// The components.
    public var values: [Float]

    /// Wraps the components as they are (no normalisation).
    public init(_ values: [Float]) {
        self.values = values
    }

    /// The number of components.
    public var dimension: Int { values.count }

    /// The largest dimension `VectorIndex` and `BatchScoring` accept: the int8 kernels sum up to `dimension`
    /// products of a biased byte (at most 255) and a query byte (at most 127) in an Int32, and
    /// 65,536 x 255 x 127 is the last power of two below 2^31.
    public static let maximumDimension = 65_536

    /// The Euclidean length.
    public var norm: Float {
        values.withUnsafeBufferPointer { VectorMath.dot(unchecked: $0, $0) }.squareRoot()
    }

    /// This vector scaled to length 1; a zero vector (or one with a non-finite length) comes back as zeros
    /// of the same dimension, so it scores 0 against everything instead of NaN.
    public func normalized() -> Vector {
        Vector(Self.normalizedValues(values))
    }

    static func normalizedValues(_ values: [Float]) -> [Float] {
        let length = values.withUnsafeBufferPointer { VectorMath.dot(unchecked: $0, $0) }.squareRoot()
        guard length > 0, length.isFinite else { return [Float](repeating: 0, count: values.count) }
        let inverse = 1 / length
        return values.map { $0 * inverse }
    }
}
