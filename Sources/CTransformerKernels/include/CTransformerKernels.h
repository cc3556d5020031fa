#ifndef CTRANSFORMERKERNELS_H
#define CTRANSFORMERKERNELS_H

// The compute kernels of a BERT-style encoder (SentenceEmbedding's MiniLM): a matrix product with the
// weights packed once at load time, layer normalisation and attention, each compiled for AVX-512F, AVX2+FMA
// and baseline x86-64, and chosen at run time (CPUID + XGETBV). C rather than Swift for the same reason as
// CVectorKernels: Swift has no per-function target attribute, and a module built with -target-cpu faults on
// older CPUs. These kernels need AVX-512F only (float FMAs); VNNI is not used.
//
// Every function works on one thread; SentenceEmbedding runs whole sequences on each core, so the kernels
// never share an output row.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels.
enum {
    TK_LEVEL_GENERIC = 0,  ///< plain C at the baseline target (SSE2 on x86-64)
    TK_LEVEL_AVX2 = 1,     ///< AVX2 + FMA
    TK_LEVEL_AVX512 = 2,   ///< AVX-512F (+ FMA); Skylake-SP and later, Zen 4
};

/// The best level this CPU and OS support (checked once).
int tk_best_level(void);

/// Output features per packed panel: weights are stored 32 outputs at a time, K-major inside a panel.
#define TK_PANEL 32

/// Floats needed to pack a weight matrix of `n` outputs × `k` inputs (`n` rounded up to a panel).
size_t tk_packed_count(size_t n, size_t k);

/// Packs `w` (row-major, `n` × `k`, the layout of a PyTorch Linear weight: one row per output) into panels:
/// panel p holds outputs 32p..32p+31 as k rows of 32 floats. Missing outputs of the last panel are zero.
void tk_pack_weights(const float *w, size_t n, size_t k, float *packed);

/// y[i][j] = act(sum_k x[i][k] * w[j][k] + bias[j]) + residual[i][j], for i < m and j < n.
typedef struct {
    const float *x;         ///< m rows of k floats, `ldx` apart
    size_t ldx;
    const float *packed;    ///< tk_pack_weights(w, n, k)
    size_t k, n;
    const float *bias;      ///< n floats, or NULL
    const float *residual;  ///< m rows of n floats, `ldr` apart, added last; or NULL
    size_t ldr;
    int gelu;               ///< nonzero: exact (erf) GELU after the bias
    float *y;               ///< m rows of n floats, `ldy` apart; must not overlap x or residual
    size_t ldy;
    float *scratch;         ///< tk_linear_scratch_count() floats, 64-byte aligned, for rows of x repacked
    int x_padded;           ///< nonzero: x can be read up to the next multiple of 12 rows past m (the content of those
                            ///< rows does not matter), so rows ldx = 384 apart are used in place instead of copied
} tk_linear_args;

/// Floats of scratch one tk_linear call needs (the same for every shape; reusable from call to call).
size_t tk_linear_scratch_count(void);

/// The matrix product above. `n` must be a multiple of TK_PANEL.
void tk_linear(int level, const tk_linear_args *args, size_t m);

/// In place: each of `rows` rows (`ld` apart) of `cols` floats becomes (x - mean) / sqrt(var + eps) * gamma + beta.
void tk_layer_norm(int level, float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta,
                   float eps);

/// Scratch floats tk_attention needs for a sequence of `length` tokens.
size_t tk_attention_scratch_count(size_t length, size_t head_dim);

/// Self-attention of one sequence without padding: `qkv` holds `length` rows (`ldqkv` apart) of Q, K and V side by
/// side (heads × head_dim floats each); `out` receives the context, `length` rows (`ldo` apart) of heads × head_dim.
/// `head_dim` must be a multiple of TK_PANEL (32; MiniLM's is 32, BERT-base's 64); otherwise nothing is written.
void tk_attention(int level, const float *qkv, size_t ldqkv, size_t length, size_t heads, size_t head_dim, float *out,
                  size_t ldo, float *scratch);

/// BERT's input embeddings of one sequence: out[t] = word[ids[t]] + position[t] + type (the rows of `hidden` floats).
/// The caller has checked every id against the vocabulary and `count` against the position table.
void tk_embed_tokens(const int32_t *ids, size_t count, const float *word, const float *position, const float *type,
                     size_t hidden, float *out);

/// The mean of `rows` rows of `hidden` floats, scaled to unit length (a zero mean stays zero), into `out`.
void tk_mean_pool_normalize(const float *x, size_t rows, size_t hidden, float *out);

/// A 64-bit fingerprint of `count` bytes (not cryptographic: it tells one model file from another).
uint64_t tk_fingerprint(const void *bytes, size_t count);

/// Multiply-adds per second one thread sustains at `level` when nothing else limits it (12 independent chains
/// of register FMAs), in GFLOP/s (one FMA = 2 FLOP) per second of the thread's CPU time; runs for about `seconds`.
/// For "how close to peak".
double tk_measure_fma_gflops(int level, double seconds);

#ifdef __cplusplus
}
#endif

#endif
