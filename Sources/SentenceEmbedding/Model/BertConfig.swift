import Foundation

/// The parts of a BERT `config.json` the encoder needs. Anything the encoder does not implement (another activation,
/// another position embedding) is refused when the model is loaded, not discovered as wrong vectors later.
public struct BertConfig: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maximumPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float

    public var headSize: Int { hiddenSize / max(1, heads) }

    static func load(_ url: URL) throws -> BertConfig {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SentenceEmbeddingError(exists ? .unreadableFile : .missingFile, file: path, exists ? "cannot be read" : "no such file")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SentenceEmbeddingError(.malformedFile, file: path, "not a JSON object")
        }
        func int(_ key: String) throws -> Int {
            guard let value = object[key] as? Int, value > 0 else {
                throw SentenceEmbeddingError(.unsupportedModel, file: path, "\(key) is missing or not a positive integer")
            }
            return value
        }
        if let type = object["model_type"] as? String, type != "bert" {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "model_type is \(type), expected bert")
        }
        if let act = object["hidden_act"] as? String, act != "gelu" {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "hidden_act is \(act), only gelu (the exact one) is implemented")
        }
        if let position = object["position_embedding_type"] as? String, position != "absolute" {
            throw SentenceEmbeddingError(.unsupportedModel, file: path, "position_embedding_type is \(position), expected absolute")
        }
        let config = BertConfig(
            vocabularySize: try int("vocab_size"), hiddenSize: try int("hidden_size"), layers: try int("num_hidden_layers"),
            heads: try int("num_attention_heads"), intermediateSize: try int("intermediate_size"),
            maximumPositions: try int("max_position_embeddings"), typeVocabularySize: try int("type_vocab_size"),
            layerNormEpsilon: Float((object["layer_norm_eps"] as? Double) ?? 1e-12))
        // The kernels work on panels of 32 outputs, attention's products included (a head is one or more panels).
        guard config.hiddenSize % config.heads == 0, config.headSize % 32 == 0, config.intermediateSize % 32 == 0 else {
            throw SentenceEmbeddingError(.unsupportedModel, file: path,
                                         "hidden_size \(config.hiddenSize), num_attention_heads \(config.heads) and intermediate_size "
                                         + "\(config.intermediateSize): heads and the intermediate size must be multiples of 32")
        }
        return config
    }
}
