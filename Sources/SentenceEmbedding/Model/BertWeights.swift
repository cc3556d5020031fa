import CTransformerKernels
import Foundation

/// The weights of a BERT encoder, checked against its config and laid out for the kernels: each linear layer packed
/// into 32-output panels once (tk_pack_weights), the three attention projections of a layer fused into one product
/// of 3 × hidden outputs, so a layer makes four passes over its input instead of six.
final class BertWeights: Sendable {
    struct Linear: Sendable {
        let packed: FloatBuffer
        let bias: FloatBuffer
        let inputs: Int
        let outputs: Int
    }

    struct Norm: Sendable {
        let gamma: FloatBuffer
        let beta: FloatBuffer
    }

    struct Layer: Sendable {
        let qkv: Linear
        let attentionOutput: Linear
        let attentionNorm: Norm
        let intermediate: Linear
        let output: Linear
        let outputNorm: Norm
    }

    let config: BertConfig
    let wordEmbeddings: FloatBuffer
    let positionEmbeddings: FloatBuffer
    /// Row 0 of the token-type embeddings: every token of a single sentence has type 0.
    let tokenType: FloatBuffer
    let embeddingNorm: Norm
    let layers: [Layer]

    init(file: SafeTensors, config: BertConfig) throws {
        self.config = config
        let h = config.hiddenSize
        func tensor(_ name: String, _ shape: [Int]) throws -> FloatBuffer {
            let buffer = FloatBuffer(count: shape.reduce(1, *))
            try file.copy(name, shape: shape, to: buffer.pointer)
            return buffer
        }
        func norm(_ prefix: String) throws -> Norm {
            Norm(gamma: try tensor(prefix + ".weight", [h]), beta: try tensor(prefix + ".bias", [h]))
        }
        /// Several PyTorch Linear layers over the same input, stacked output-wise and packed as one.
        func linear(_ names: [String], inputs: Int, outputs: Int) throws -> Linear {
            let weights = FloatBuffer(count: names.count * outputs * inputs)
            let bias = FloatBuffer(count: names.count * outputs)
            for (i, name) in names.enumerated() {
                try file.copy(name + ".weight", shape: [outputs, inputs], to: weights.pointer + i * outputs * inputs)
                try file.copy(name + ".bias", shape: [outputs], to: bias.pointer + i * outputs)
            }
            let total = names.count * outputs
            let packed = FloatBuffer(count: tk_packed_count(total, inputs))
            tk_pack_weights(weights.pointer, total, inputs, packed.pointer)
            return Linear(packed: packed, bias: bias, inputs: inputs, outputs: total)
        }

        // Checkpoints saved from BertModel name tensors without a prefix, those saved from a task model with "bert.".
        let prefix = file.shape("embeddings.word_embeddings.weight") == nil && file.shape("bert.embeddings.word_embeddings.weight") != nil
            ? "bert." : ""
        wordEmbeddings = try tensor(prefix + "embeddings.word_embeddings.weight", [config.vocabularySize, h])
        positionEmbeddings = try tensor(prefix + "embeddings.position_embeddings.weight", [config.maximumPositions, h])
        let types = try tensor(prefix + "embeddings.token_type_embeddings.weight", [config.typeVocabularySize, h])
        tokenType = FloatBuffer(count: h)
        tokenType.pointer.update(from: types.pointer, count: h)
        embeddingNorm = try norm(prefix + "embeddings.LayerNorm")
        layers = try (0..<config.layers).map { l in
            let p = "\(prefix)encoder.layer.\(l)."
            return Layer(
                qkv: try linear([p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"],
                                inputs: h, outputs: h),
                attentionOutput: try linear([p + "attention.output.dense"], inputs: h, outputs: h),
                attentionNorm: try norm(p + "attention.output.LayerNorm"),
                intermediate: try linear([p + "intermediate.dense"], inputs: h, outputs: config.intermediateSize),
                output: try linear([p + "output.dense"], inputs: config.intermediateSize, outputs: h),
                outputNorm: try norm(p + "output.LayerNorm"))
        }
    }
}
