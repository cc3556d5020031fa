import CTransformerKernels

/// The forward pass of a BERT encoder over a chunk of sequences on one thread, ending in mean pooling and L2
/// normalisation (sentence-transformers' Pooling + Normalize).
///
/// The sequences are concatenated without padding: every token is one row of each matrix product, and only attention
/// looks at sequence boundaries. A batch of short titles and long postings therefore costs what its tokens cost, where
/// a padded batch would pay for the longest text in every row.
struct BertEncoder: Sendable {
    let weights: BertWeights
    let level: KernelLevel

    /// Embeddings of `sequences` (token ids, each within the vocabulary and at most `maximumPositions` long), written to
    /// `output`, hidden-size floats per sequence in order.
    func encode(_ sequences: ArraySlice<[Int32]>, workspace ws: EncoderWorkspace, output: UnsafeMutablePointer<Float>) {
        let config = weights.config
        let h = config.hiddenSize, heads = config.heads, headSize = config.headSize
        let total = sequences.reduce(0) { $0 + $1.count }
        let longest = sequences.reduce(0) { max($0, $1.count) }
        guard total > 0 else { return }
        ws.reserve(tokens: total, longest: longest)
        let level = level.rawValue
        let eps = config.layerNormEpsilon

        var offset = 0
        for ids in sequences {
            ids.withUnsafeBufferPointer { ids in
                tk_embed_tokens(ids.baseAddress, ids.count, weights.wordEmbeddings.pointer, weights.positionEmbeddings.pointer,
                                weights.tokenType.pointer, h, ws.hidden.pointer + offset * h)
            }
            offset += ids.count
        }
        tk_layer_norm(level, ws.hidden.pointer, total, h, h, weights.embeddingNorm.gamma.pointer,
                      weights.embeddingNorm.beta.pointer, eps)

        for layer in weights.layers {
            linear(layer.qkv, ws.hidden.pointer, total, into: ws.qkv.pointer, padded: true, ws)
            offset = 0
            for ids in sequences {
                tk_attention(level, ws.qkv.pointer + offset * 3 * h, 3 * h, ids.count, heads, headSize,
                             ws.context.pointer + offset * h, h, ws.attentionScratch.pointer)
                offset += ids.count
            }
            // attended = LayerNorm(context · Wo + bo + hidden)
            linear(layer.attentionOutput, ws.context.pointer, total, into: ws.attended.pointer, padded: true,
                   residual: ws.hidden.pointer, ws)
            tk_layer_norm(level, ws.attended.pointer, total, h, h, layer.attentionNorm.gamma.pointer,
                          layer.attentionNorm.beta.pointer, eps)
            // hidden = LayerNorm(GELU(attended · W1 + b1) · W2 + b2 + attended)
            linear(layer.intermediate, ws.attended.pointer, total, into: ws.inner.pointer, padded: true, gelu: true, ws)
            linear(layer.output, ws.inner.pointer, total, into: ws.hidden.pointer, residual: ws.attended.pointer, ws)
            tk_layer_norm(level, ws.hidden.pointer, total, h, h, layer.outputNorm.gamma.pointer,
                          layer.outputNorm.beta.pointer, eps)
        }

        offset = 0
        for (i, ids) in sequences.enumerated() {
            tk_mean_pool_normalize(ws.hidden.pointer + offset * h, ids.count, h, output + i * h)
            offset += ids.count
        }
    }

    /// y = x · Wᵀ + b (then GELU, then + residual). `padded`: x has EncoderWorkspace.padding readable rows past `rows`.
    private func linear(_ l: BertWeights.Linear, _ x: UnsafePointer<Float>, _ rows: Int, into y: UnsafeMutablePointer<Float>,
                        padded: Bool = false, gelu: Bool = false, residual: UnsafePointer<Float>? = nil,
                        _ ws: EncoderWorkspace) {
        var args = tk_linear_args(
            x: x, ldx: l.inputs, packed: l.packed.pointer, k: l.inputs, n: l.outputs, bias: l.bias.pointer,
            residual: residual, ldr: l.outputs, gelu: gelu ? 1 : 0, y: y, ldy: l.outputs, scratch: ws.linearScratch.pointer,
            x_padded: padded ? 1 : 0)
        tk_linear(level.rawValue, &args, rows)
    }
}
