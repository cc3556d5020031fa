/// The one error type of VectorScoring: a refusal of input that would otherwise trap (a dimension mismatch, a
/// count that overflows, memory that cannot be mapped). Thrown by the public entry points, which check their
/// input once before the scoring loops run, so the loops themselves stay unchecked.
///
/// `reason` is written without the operation, so a caller that exposes the API under another name (the Lua
/// `vec` table) can put its own name in front: `vec.dot: dimensions 1 and 2 differ`.
public struct VectorScoringError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of refusal this is. Compare with the static members; new kinds may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case dimensionMismatch, invalidDimension, invalidArgument, outOfMemory
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Two vectors (or a vector and an index) that must have the same dimension do not.
        public static let dimensionMismatch = Code(.dimensionMismatch)
        /// A dimension outside 1...`Vector.maximumDimension`.
        public static let invalidDimension = Code(.invalidDimension)
        /// Any other unusable argument: a negative k or capacity, a NaN threshold, counts that do not match.
        public static let invalidArgument = Code(.invalidArgument)
        /// The memory for the vectors could not be mapped, or its size does not fit in an Int.
        public static let outOfMemory = Code(.outOfMemory)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The API that refused, e.g. `VectorMath.dot`.
    public let operation: String
    /// What was wrong, e.g. `dimensions 1 and 2 differ`.
    public let reason: String

    public init(_ code: Code, _ operation: String, _ reason: String) {
        self.code = code
        self.operation = operation
        self.reason = reason
    }

    public var description: String { "\(operation): \(reason)" }
}

extension VectorScoringError {
    static func dimensions(_ operation: String, _ a: Int, _ b: Int) -> VectorScoringError {
        VectorScoringError(.dimensionMismatch, operation, "dimensions \(a) and \(b) differ")
    }

    /// Refuses a dimension the storage and kernels are not made for.
    static func checkDimension(_ dimension: Int, _ operation: String) throws {
        guard (1...Vector.maximumDimension).contains(dimension) else {
            throw VectorScoringError(.invalidDimension, operation,
                                     "dimension \(dimension) is not in 1...\(Vector.maximumDimension)")
        }
    }
}
