import CTransformerKernels
import Foundation

/// A sentence-embedding model (all-MiniLM-L6-v2 and other BERT encoders with mean pooling, as sentence-transformers
/// runs them) computed natively: WordPiece tokenisation from `tokenizer.json`, the encoder from `model.safetensors`
/// and `config.json`, mean pooling over the tokens and L2 normalisation. Vectors agree with the reference
/// implementation to a cosine of at least 0.999 (Tests/SentenceEmbeddingTests).
///
/// Loading reads the three files of a model folder and nothing else; it throws `SentenceEmbeddingError` for a missing
/// or corrupt file, never traps. After loading the embedder is immutable and may be used from any number of threads.
public final class SentenceEmbedder: Sendable {
    /// The version of this pipeline (tokenisation, truncation, pooling). Part of `identity`: a change that moves the
    /// vectors bumps it, so stored vectors of the old pipeline are recognised as stale.
    public static let pipelineVersion = 1
    /// Tokens per chunk of sequences one thread encodes at a time: big enough that every weight panel meets many rows,
    /// small enough that a chunk's activations (≈ 17 KB a token) stay within the caches.
    public static let chunkTokens = 1024

    /// The model folder's name, lowercased (e.g. `all-minilm-l6-v2`).
    public let name: String
    /// 16 hex digits identifying the weights file's content.
    public let fingerprint: String
    /// The length of the vectors.
    public let dimension: Int
    public let config: BertConfig
    public let tokenizer: WordPieceTokenizer
    public let level: KernelLevel
    let encoder: BertEncoder

    /// Names the embedder, the pipeline version and the weights, e.g. `all-minilm-l6-v2@1:53aa5117…`: stored with each
    /// vector, so vectors of another model or version can be told apart and re-embedded.
    public var identity: String { "\(name)@\(Self.pipelineVersion):\(fingerprint.prefix(8))" }

    /// The files a model folder must hold.
    public static let requiredFiles = ["config.json", "tokenizer.json", "model.safetensors"]

    /// Loads the model in `directory` (config.json, tokenizer.json, model.safetensors; 1_Pooling/config.json is checked
    /// when present).
    public static func load(directory: URL, level: KernelLevel = .best,
                            maximumTokens: Int = WordPieceTokenizer.defaultMaximumTokens) throws -> SentenceEmbedder {
        let config = try BertConfig.load(directory.appendingPathComponent("config.json"))
        try checkPooling(directory.appendingPathComponent("1_Pooling/config.json"))
        let tokenizerURL = directory.appendingPathComponent("tokenizer.json")
        let tokenizer = try WordPieceTokenizer.load(tokenizerURL, maximumTokens: min(maximumTokens, config.maximumPositions))
        guard Int(tokenizer.largestID) < config.vocabularySize else {
            throw SentenceEmbeddingError(.unsupportedModel, file: tokenizerURL.path,
                                         "token ids reach \(tokenizer.largestID), the model's vocabulary has \(config.vocabularySize)")
        }
        let file = try SafeTensors(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let weights = try BertWeights(file: file, config: config)
        let hash = file.data.withUnsafeBytes { tk_fingerprint($0.baseAddress, $0.count) }
        return SentenceEmbedder(name: directory.standardizedFileURL.lastPathComponent.lowercased(),
                                fingerprint: String(format: "%016llx", hash), config: config, tokenizer: tokenizer,
                                weights: weights, level: level)
    }

    init(name: String, fingerprint: String, config: BertConfig, tokenizer: WordPieceTokenizer, weights: BertWeights,
         level: KernelLevel) {
        self.name = name
        self.fingerprint = fingerprint
        self.dimension = config.hiddenSize
        self.config = config
        self.tokenizer = tokenizer
        self.level = level
        encoder = BertEncoder(weights: weights, level: level)
    }

    /// This embedder with another kernel level (the same weights in memory).
    public func with(level: KernelLevel) -> SentenceEmbedder {
        SentenceEmbedder(name: name, fingerprint: fingerprint, config: config, tokenizer: tokenizer, weights: encoder.weights,
                         level: level)
    }

    /// The embedding of one text.
    public func embed(_ text: String) -> [Float] { embed([text], threads: 1)[0] }

    /// Embeddings of `texts`, in order, computed on up to `threads` threads (default: every processor).
    public func embed(_ texts: [String], threads: Int? = nil) -> [[Float]] {
        embed(tokenized: tokenize(texts, threads: threads), threads: threads)
    }

    /// Token ids of `texts`, in order (the tokenizer on up to `threads` threads).
    public func tokenize(_ texts: [String], threads: Int? = nil) -> [[Int32]] {
        let threads = min(threads ?? ForkJoin.processorCount, max(1, texts.count / 64))
        if threads <= 1 { return texts.map(tokenizer.encode) }
        var result = [[Int32]](repeating: [], count: texts.count)
        result.withUnsafeMutableBufferPointer { out in
            let out = UncheckedSendable(out)
            ForkJoin.run(threads: threads) { t in
                for i in stride(from: t, to: texts.count, by: threads) { out.value[i] = tokenizer.encode(texts[i]) }
            }
        }
        return result
    }

    /// Embeddings of already tokenized texts (each from `tokenizer`), in order.
    public func embed(tokenized sequences: [[Int32]], threads: Int? = nil) -> [[Float]] {
        guard !sequences.isEmpty else { return [] }
        let chunks = Self.chunks(sequences.map(\.count), threads: threads ?? ForkJoin.processorCount)
        let threads = min(threads ?? ForkJoin.processorCount, chunks.count)
        let h = dimension
        let output = FloatBuffer(count: sequences.count * h)
        let counter = WorkCounter()
        let shared = UncheckedSendable(output.pointer)
        ForkJoin.run(threads: threads) { _ in
            let workspace = EncoderWorkspace(config: config)
            while case let c = counter.take(), c < chunks.count {
                let range = chunks[c]
                encoder.encode(sequences[range], workspace: workspace, output: shared.value + range.lowerBound * h)
            }
        }
        return (0..<sequences.count).map { Array(UnsafeBufferPointer(start: output.pointer + $0 * h, count: h)) }
    }

    /// Consecutive ranges of sequences of at most about `chunkTokens` tokens, as equal in tokens as whole sequences
    /// allow, and as many as a whole number of rounds of `threads` (at least one per thread when there are enough
    /// sequences, so a small batch still uses every thread). Whole rounds matter: 2,000 titles (11,000 tokens) cut
    /// greedily at 1,024 tokens made 11 chunks, and one thread encoded the eleventh alone while the other waited
    /// (`bench embeddings` saw 1.87 of 2 cores busy).
    public static func chunks(_ lengths: [Int], threads: Int) -> [Range<Int>] {
        guard !lengths.isEmpty else { return [] }
        let total = max(1, lengths.reduce(0, +)), threads = max(1, threads)
        let rounds = (total + chunkTokens * threads - 1) / (chunkTokens * threads)
        let count = rounds * threads
        var chunks: [Range<Int>] = []
        var start = 0, seen = 0, next = 1
        for (i, n) in lengths.enumerated() {
            // Cut before sequence i when its middle lies past the next boundary (next · total / count tokens).
            if i > start && (2 * seen + n) * count > 2 * next * total {
                chunks.append(start..<i)
                start = i
                while next < count && (2 * seen + n) * count > 2 * next * total { next += 1 }
            }
            seen += n
        }
        chunks.append(start..<lengths.count)
        return chunks
    }

    /// sentence-transformers' pooling module, when the folder has one, must be the mean over the tokens.
    private static func checkPooling(_ url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else { return }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SentenceEmbeddingError(.malformedFile, file: url.path, "not a JSON object")
        }
        let modes = ["pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens"]
        guard object["pooling_mode_mean_tokens"] as? Bool != false, modes.allSatisfy({ object[$0] as? Bool != true }) else {
            throw SentenceEmbeddingError(.unsupportedModel, file: url.path, "only mean pooling over the tokens is implemented")
        }
    }
}
