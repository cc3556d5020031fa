// AVX-512F kernels. The matrix product keeps a 12 × 32 tile of the output in 24 registers: per input feature it
// loads 32 packed weights (2 registers) and broadcasts 12 inputs, 24 FMAs for 14 loads, so the two FMA ports
// rather than the two load ports set the pace (Skylake-SP: 2 loads and 2 FMAs per cycle).
#include "Kernels.h"

#if defined(__x86_64__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

#define TK512 __attribute__((target("avx512f,fma")))

/// e^x, Cephes' single-precision polynomial after reducing by ln 2 (about 2 ulp); inputs clamped to [-87.3, 88.3].
TK512 TK_INLINE __m512 exp512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    return _mm512_scalef_ps(_mm512_add_ps(p, _mm512_set1_ps(1.0f)), n);
}

/// erf(x) as a rational function on [-4, 4] (the coefficients Eigen and XLA use; below 5e-7 absolute error,
/// checked against math.erf over [-6, 6]); outside that range erf is ±1 in single precision.
TK512 TK_INLINE __m512 erf512(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    const __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(x, p);
    __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
    // p / q as p · (1/q): a 14-bit reciprocal and one Newton step (about 1 ulp), where a division would occupy the
    // divider for ~10 cycles per 16 values and cost the FFN's first product about 5 %.
    __m512 r = _mm512_rcp14_ps(q);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(2.0f)));
    return _mm512_mul_ps(p, r);
}

/// BERT's GELU, the exact one: 0.5 x (1 + erf(x / sqrt 2)).
TK512 TK_INLINE __m512 gelu512(__m512 x) {
    const __m512 e = erf512(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
}

/// Output rows i..i+rows-1 (rows ≤ 12), outputs 32p..32p+31, inputs k0..k0+kc-1. `xp` holds the 12 rows copied
/// TK_KC floats apart (tk_pack_rows), so the twelve broadcasts of a step are constant offsets from one pointer that
/// moves by one float per step. Read in place, the rows (ldx apart, a run-time stride) cost an address computation
/// each and the loop ran out of issue slots before FMA ports; a transposed copy fixed that but the transposition
/// itself took 7 % of the encoder's time. The first input block starts from zero, later ones add to y; the last
/// applies the bias, GELU and residual.
TK512 TK_NOINLINE static void tile512(const tk_linear_args *a, const float *xp, size_t i, size_t rows, size_t p,
                                      size_t k0, size_t kc) {
    const float *w = a->packed + (p * a->k + k0) * TK_PANEL;
    const int first = k0 == 0, last = k0 + kc == a->k;
    __m512 c0[12], c1[12];
    TK_UNROLL
    for (int r = 0; r < 12; r++) {
        const float *y = a->y + (i + r) * a->ldy + p * TK_PANEL;
        c0[r] = first || (size_t)r >= rows ? _mm512_setzero_ps() : _mm512_loadu_ps(y);
        c1[r] = first || (size_t)r >= rows ? _mm512_setzero_ps() : _mm512_loadu_ps(y + 16);
    }
    for (size_t kk = 0; kk < kc; kk++) {
        const __m512 w0 = _mm512_loadu_ps(w + kk * TK_PANEL);
        const __m512 w1 = _mm512_loadu_ps(w + kk * TK_PANEL + 16);
        const float *xk = xp + kk;
        TK_UNROLL
        for (int r = 0; r < 12; r++) {
            const __m512 xv = _mm512_set1_ps(xk[r * TK_KC]);
            c0[r] = _mm512_fmadd_ps(xv, w0, c0[r]);
            c1[r] = _mm512_fmadd_ps(xv, w1, c1[r]);
        }
    }
    const __m512 b0 = last && a->bias ? _mm512_loadu_ps(a->bias + p * TK_PANEL) : _mm512_setzero_ps();
    const __m512 b1 = last && a->bias ? _mm512_loadu_ps(a->bias + p * TK_PANEL + 16) : _mm512_setzero_ps();
    TK_UNROLL
    for (int r = 0; r < 12; r++) {
        if ((size_t)r >= rows) break;
        __m512 v0 = _mm512_add_ps(c0[r], b0), v1 = _mm512_add_ps(c1[r], b1);
        if (last && a->gelu) {
            v0 = gelu512(v0);
            v1 = gelu512(v1);
        }
        if (last && a->residual) {
            const float *res = a->residual + (i + r) * a->ldr + p * TK_PANEL;
            v0 = _mm512_add_ps(v0, _mm512_loadu_ps(res));
            v1 = _mm512_add_ps(v1, _mm512_loadu_ps(res + 16));
        }
        float *y = a->y + (i + r) * a->ldy + p * TK_PANEL;
        _mm512_storeu_ps(y, v0);
        _mm512_storeu_ps(y + 16, v1);
    }
}

TK512 void tk_linear_avx512(const tk_linear_args *a, size_t m) {
    const size_t panels = a->n / TK_PANEL, np = TK_NC / TK_PANEL;
    const int direct = tk_rows_in_place(a);
    for (size_t k0 = 0; k0 < a->k; k0 += TK_KC) {
        const size_t kc = a->k - k0 < TK_KC ? a->k - k0 : TK_KC;
        for (size_t m0 = 0; m0 < m; m0 += TK_MC) {
            const size_t m1 = m0 + TK_MC < m ? m0 + TK_MC : m;
            const float *xp = direct ? a->x + m0 * TK_KC : a->scratch;
            if (!direct) tk_pack_rows(a, m0, m1, k0, kc, 12, a->scratch);
            for (size_t p0 = 0; p0 < panels; p0 += np) {
                const size_t p1 = p0 + np < panels ? p0 + np : panels;
                for (size_t i = m0; i < m1; i += 12)
                    for (size_t p = p0; p < p1; p++)
                        tile512(a, xp + (i - m0) * TK_KC, i, m1 - i < 12 ? m1 - i : 12, p, k0, kc);
            }
        }
    }
}

TK512 void tk_layer_norm_avx512(float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta,
                                float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        __m512 s = _mm512_setzero_ps();
        for (size_t c = 0; c < cols; c += 16) s = _mm512_add_ps(s, _mm512_loadu_ps(row + c));
        const __m512 mean = _mm512_set1_ps(_mm512_reduce_add_ps(s) / (float)cols);
        __m512 v = _mm512_setzero_ps();
        for (size_t c = 0; c < cols; c += 16) {
            const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(row + c), mean);
            v = _mm512_fmadd_ps(d, d, v);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(v) / (float)cols + eps));
        for (size_t c = 0; c < cols; c += 16) {
            const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + c), mean), inv);
            _mm512_storeu_ps(row + c, _mm512_fmadd_ps(d, _mm512_loadu_ps(gamma + c), _mm512_loadu_ps(beta + c)));
        }
    }
}

TK512 void tk_softmax_rows_avx512(float *s, size_t rows, size_t ld, size_t length, float scale) {
    const size_t full = length / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (length - full)) - 1);
    const __m512 sc = _mm512_set1_ps(scale);
    for (size_t i = 0; i < rows; i++) {
        float *row = s + i * ld;
        __m512 mx = _mm512_set1_ps(-FLT_MAX);
        for (size_t j = 0; j < full; j += 16) mx = _mm512_max_ps(mx, _mm512_loadu_ps(row + j));
        if (tail) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-FLT_MAX), tail, row + full));
        const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(mx) * scale);
        __m512 sum = _mm512_setzero_ps();
        for (size_t j = 0; j < full; j += 16) {
            const __m512 e = exp512(_mm512_fmsub_ps(_mm512_loadu_ps(row + j), sc, top));
            _mm512_storeu_ps(row + j, e);
            sum = _mm512_add_ps(sum, e);
        }
        if (tail) {
            const __m512 e = _mm512_maskz_mov_ps(tail, exp512(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(tail, row + full), sc, top)));
            _mm512_mask_storeu_ps(row + full, tail, e);
            sum = _mm512_add_ps(sum, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
        for (size_t j = 0; j < full; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
        if (tail) _mm512_mask_storeu_ps(row + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + full), inv));
    }
}

TK512 double tk_fma_loop_avx512(uint64_t rounds) {
    __m512 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps((float)i);
    const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-9f);
    for (uint64_t r = 0; r < rounds; r++)
        for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], b, c);
    __m512 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, a[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)rounds * 12 * 16 * 2;
}
#endif
