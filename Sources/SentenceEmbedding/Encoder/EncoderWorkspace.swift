import CTransformerKernels

/// The activations of one forward pass, for one thread: sized for a chunk of sequences and grown when a larger
/// chunk comes. Never shared between threads.
final class EncoderWorkspace {
    private(set) var tokens = 0
    private(set) var longest = 0
    private let config: BertConfig

    /// Hidden states, tokens × hidden (the input and output of each layer).
    private(set) var hidden = FloatBuffer(count: 0)
    /// Hidden states after attention, tokens × hidden.
    private(set) var attended = FloatBuffer(count: 0)
    /// Q, K and V side by side, tokens × 3 hidden.
    private(set) var qkv = FloatBuffer(count: 0)
    /// Attention output before its projection, tokens × hidden.
    private(set) var context = FloatBuffer(count: 0)
    /// The feed-forward layer's inner activations, tokens × intermediate.
    private(set) var inner = FloatBuffer(count: 0)
    /// Rows of X repacked by tk_linear.
    let linearScratch = FloatBuffer(count: tk_linear_scratch_count())
    /// Transposed keys and scores of one head for tk_attention.
    private(set) var attentionScratch = FloatBuffer(count: 0)

    /// Rows the matrix kernels may read past the last token (a group of 12 rows; see tk_linear_args.x_padded).
    static let padding = 12

    init(config: BertConfig) {
        self.config = config
    }

    func reserve(tokens needed: Int, longest needLongest: Int) {
        if needed > tokens {
            // Some headroom, so a stream of slightly growing chunks does not reallocate each time.
            let n = max(needed, tokens + tokens / 4)
            let h = config.hiddenSize
            // The inputs of products get `padding` rows more, so the kernels may read them in place (x_padded).
            hidden = FloatBuffer(count: (n + Self.padding) * h)
            attended = FloatBuffer(count: (n + Self.padding) * h)
            qkv = FloatBuffer(count: n * 3 * h)
            context = FloatBuffer(count: (n + Self.padding) * h)
            inner = FloatBuffer(count: n * config.intermediateSize)
            tokens = n
        }
        if needLongest > longest {
            attentionScratch = FloatBuffer(count: tk_attention_scratch_count(needLongest, config.headSize))
            longest = needLongest
        }
    }
}
