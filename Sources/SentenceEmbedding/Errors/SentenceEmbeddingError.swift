/// The one error type of SentenceEmbedding: a model folder that cannot be used. Every check on the files (missing,
/// truncated, malformed JSON, a tensor of the wrong shape or type, a vocabulary the weights do not cover) throws it
/// with the file and what was wrong, so a caller can log the reason and fall back to another embedder.
public struct SentenceEmbeddingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What kind of problem this is. Compare with the static members; new kinds may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case missingFile, unreadableFile, malformedFile, unsupportedModel
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A file of the model folder does not exist (most often: the model was never fetched).
        public static let missingFile = Code(.missingFile)
        /// A file exists but cannot be read.
        public static let unreadableFile = Code(.unreadableFile)
        /// A file is truncated or not what its format says (safetensors header, JSON, tensor offsets).
        public static let malformedFile = Code(.malformedFile)
        /// The files are well formed but describe a model this encoder does not run (another architecture, a
        /// tensor of another shape or type, an activation other than GELU).
        public static let unsupportedModel = Code(.unsupportedModel)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The file concerned, as a path.
    public let file: String
    /// What was wrong, e.g. `tensor encoder.layer.0.attention.self.query.weight has shape [384, 383], expected [384, 384]`.
    public let reason: String

    public init(_ code: Code, file: String, _ reason: String) {
        self.code = code
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
