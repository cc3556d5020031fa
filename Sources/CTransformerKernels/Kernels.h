// The per-level variants behind the public entry points (Dispatch.c picks one).
#ifndef TK_KERNELS_H
#define TK_KERNELS_H
#include "CTransformerKernels.h"

#define TK_INLINE static inline __attribute__((always_inline))
#define TK_NOINLINE __attribute__((noinline))
/// Loops over a constant number of registers (rows of a tile, query rows, 16-float parts of a head) must unroll
/// completely, or the accumulator arrays live on the stack: without it clang kept the 12 × 32 tile in memory and
/// the product ran at a quarter of the FMA peak.
#define TK_UNROLL _Pragma("clang loop unroll(full)")

void tk_linear_generic(const tk_linear_args *a, size_t m);
void tk_layer_norm_generic(float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta, float eps);
void tk_softmax_rows_generic(float *s, size_t rows, size_t ld, size_t length, float scale);
/// The exact GELU the generic kernels use: 0.5 x (1 + erf(x / sqrt 2)).
float tk_gelu_scalar(float x);

#if defined(__x86_64__)
void tk_linear_avx2(const tk_linear_args *a, size_t m);
void tk_layer_norm_avx2(float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta, float eps);
void tk_softmax_rows_avx2(float *s, size_t rows, size_t ld, size_t length, float scale);
double tk_fma_loop_avx2(uint64_t rounds);

void tk_linear_avx512(const tk_linear_args *a, size_t m);
void tk_layer_norm_avx512(float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta, float eps);
void tk_softmax_rows_avx512(float *s, size_t rows, size_t ld, size_t length, float scale);
double tk_fma_loop_avx512(uint64_t rounds);
#endif

double tk_fma_loop_generic(uint64_t rounds);

/// Cache blocking of the matrix product (the BLIS arrangement): for each block of TK_KC inputs and TK_MC rows, X is
/// packed once (TK_MC × TK_KC floats); then for each block of TK_NC outputs every group of 6 rows (6 × TK_KC packed
/// floats, in L1) meets every 16-output half panel of the block, the weights streaming from L2. The weight block
/// (TK_KC × TK_NC) and the row block must fit in L2 together: at 384 × 384 (576 KB, over Zen 3's 512 KB) the weights
/// came from L3 for every group of rows, and perf put the product's time on the weight loads. Measured on this
/// machine's AVX2 kernel over the encoder's four shapes (1,024 rows; /tmp harness, best of 30, three alternating
/// rounds): NC 384 / MC 192 at 56–68 GFLOP/s, NC 128 / MC 96 (192 + 144 KB) at 72–76, NC 64, 192 or 256 and MC 48 or
/// 192 no better and less steady; holding a weight panel in L1 and streaming the rows instead (BLIS's loop order) was
/// no better either. TK_KC stays 384 so three of the four products read X in place (tk_rows_in_place).
#ifndef TK_KC
#define TK_KC 384
#endif
#ifndef TK_NC
#define TK_NC 128
#endif
#ifndef TK_MC
#define TK_MC 96
#endif

/// Copies features k0..k0+kc-1 of rows i0..i1-1 of X to `xp`, row r at xp + r * TK_KC, rounded up to a multiple of `mr`
/// rows with zero rows.
void tk_pack_rows(const tk_linear_args *a, size_t i0, size_t i1, size_t k0, size_t kc, size_t mr, float *xp);

/// Whether the tiles can read X where it is: rows exactly TK_KC floats apart, one input block, and readable padding
/// rows, so the copy tk_pack_rows would make is X itself. In the encoder this holds for three of a layer's four
/// products (their input is hidden-size wide); skipping the copy saved about 5 % of the encoder's time.
TK_INLINE int tk_rows_in_place(const tk_linear_args *a) { return a->x_padded && a->ldx == TK_KC && a->k <= TK_KC; }

/// A count rounded up to whole 32-float panels.
TK_INLINE size_t tk_round32(size_t n) { return (n + 31) & ~(size_t)31; }

#endif
