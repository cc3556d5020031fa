// AVX2 + FMA kernels, the same shapes as the AVX-512 ones at half the width: a 6 × 16 output tile in 12 of the 16
// registers (half a packed panel at a time), and the attention and normalisation loops 8 floats at a time.
#include "Kernels.h"

#if defined(__x86_64__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

#define TK256 __attribute__((target("avx2,fma")))

TK256 TK_INLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TK256 TK_INLINE float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// e^x as in KernelsAVX512.c; 2^n is built in the exponent bits (n stays within [-126, 127] after the clamp).
TK256 TK_INLINE __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/// erf as in KernelsAVX512.c.
TK256 TK_INLINE __m256 erf256(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    const __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-2.72614225801306e-10f);
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(x, p);
    __m256 q = _mm256_set1_ps(-1.45660718464996e-05f);
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.42647390514189e-02f));
    // As in erf512: a reciprocal estimate (12 bits here) and one Newton step instead of a division.
    __m256 r = _mm256_rcp_ps(q);
    r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, _mm256_set1_ps(2.0f)));
    return _mm256_mul_ps(p, r);
}

TK256 TK_INLINE __m256 gelu256(__m256 x) {
    const __m256 e = erf256(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
    return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
}

/// Output rows i..i+rows-1 (rows ≤ 6), outputs 32p + 16half .. +15, inputs k0..k0+kc-1 (see tile512).
TK256 TK_NOINLINE static void tile256(const tk_linear_args *a, const float *xp, size_t i, size_t rows, size_t p,
                                      size_t half, size_t k0, size_t kc) {
    const size_t col = p * TK_PANEL + half * 16;
    const float *w = a->packed + (p * a->k + k0) * TK_PANEL + half * 16;
    const int first = k0 == 0, last = k0 + kc == a->k;
    __m256 c0[6], c1[6];
    TK_UNROLL
    for (int r = 0; r < 6; r++) {
        const float *y = a->y + (i + r) * a->ldy + col;
        c0[r] = first || (size_t)r >= rows ? _mm256_setzero_ps() : _mm256_loadu_ps(y);
        c1[r] = first || (size_t)r >= rows ? _mm256_setzero_ps() : _mm256_loadu_ps(y + 8);
    }
    for (size_t kk = 0; kk < kc; kk++) {
        const __m256 w0 = _mm256_loadu_ps(w + kk * TK_PANEL);
        const __m256 w1 = _mm256_loadu_ps(w + kk * TK_PANEL + 8);
        const float *xk = xp + kk;
        TK_UNROLL
        for (int r = 0; r < 6; r++) {
            const __m256 xv = _mm256_broadcast_ss(xk + r * TK_KC);
            c0[r] = _mm256_fmadd_ps(xv, w0, c0[r]);
            c1[r] = _mm256_fmadd_ps(xv, w1, c1[r]);
        }
    }
    const __m256 b0 = last && a->bias ? _mm256_loadu_ps(a->bias + col) : _mm256_setzero_ps();
    const __m256 b1 = last && a->bias ? _mm256_loadu_ps(a->bias + col + 8) : _mm256_setzero_ps();
    TK_UNROLL
    for (int r = 0; r < 6; r++) {
        if ((size_t)r >= rows) break;
        __m256 v0 = _mm256_add_ps(c0[r], b0), v1 = _mm256_add_ps(c1[r], b1);
        if (last && a->gelu) {
            v0 = gelu256(v0);
            v1 = gelu256(v1);
        }
        if (last && a->residual) {
            const float *res = a->residual + (i + r) * a->ldr + col;
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(res));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(res + 8));
        }
        float *y = a->y + (i + r) * a->ldy + col;
        _mm256_storeu_ps(y, v0);
        _mm256_storeu_ps(y + 8, v1);
    }
}

TK256 void tk_linear_avx2(const tk_linear_args *a, size_t m) {
    const size_t panels = a->n / TK_PANEL, np = TK_NC / TK_PANEL;
    const int direct = tk_rows_in_place(a);
    for (size_t k0 = 0; k0 < a->k; k0 += TK_KC) {
        const size_t kc = a->k - k0 < TK_KC ? a->k - k0 : TK_KC;
        for (size_t m0 = 0; m0 < m; m0 += TK_MC) {
            const size_t m1 = m0 + TK_MC < m ? m0 + TK_MC : m;
            const float *xp = direct ? a->x + m0 * TK_KC : a->scratch;
            if (!direct) tk_pack_rows(a, m0, m1, k0, kc, 6, a->scratch);
            for (size_t p0 = 0; p0 < panels; p0 += np) {
                const size_t p1 = p0 + np < panels ? p0 + np : panels;
                for (size_t i = m0; i < m1; i += 6)
                    for (size_t p = p0; p < p1; p++)
                        for (size_t h = 0; h < 2; h++)
                            tile256(a, xp + (i - m0) * TK_KC, i, m1 - i < 6 ? m1 - i : 6, p, h, k0, kc);
            }
        }
    }
}

TK256 void tk_layer_norm_avx2(float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta,
                              float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        __m256 s = _mm256_setzero_ps();
        for (size_t c = 0; c < cols; c += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(row + c));
        const __m256 mean = _mm256_set1_ps(hsum256(s) / (float)cols);
        __m256 v = _mm256_setzero_ps();
        for (size_t c = 0; c < cols; c += 8) {
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(row + c), mean);
            v = _mm256_fmadd_ps(d, d, v);
        }
        const __m256 inv = _mm256_set1_ps(1.0f / sqrtf(hsum256(v) / (float)cols + eps));
        for (size_t c = 0; c < cols; c += 8) {
            const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + c), mean), inv);
            _mm256_storeu_ps(row + c, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + c), _mm256_loadu_ps(beta + c)));
        }
    }
}

TK256 void tk_softmax_rows_avx2(float *s, size_t rows, size_t ld, size_t length, float scale) {
    const size_t full = length / 8 * 8;
    const __m256 sc = _mm256_set1_ps(scale);
    for (size_t i = 0; i < rows; i++) {
        float *row = s + i * ld;
        __m256 mx = _mm256_set1_ps(-FLT_MAX);
        float top = -FLT_MAX;
        for (size_t j = 0; j < full; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(row + j));
        for (size_t j = full; j < length; j++) top = row[j] > top ? row[j] : top;
        const float m = hmax256(mx) > top ? hmax256(mx) : top;
        const __m256 topv = _mm256_set1_ps(m * scale);
        __m256 sum = _mm256_setzero_ps();
        for (size_t j = 0; j < full; j += 8) {
            const __m256 e = exp256(_mm256_fmsub_ps(_mm256_loadu_ps(row + j), sc, topv));
            _mm256_storeu_ps(row + j, e);
            sum = _mm256_add_ps(sum, e);
        }
        float total = hsum256(sum);
        for (size_t j = full; j < length; j++) {
            row[j] = expf(row[j] * scale - m * scale);
            total += row[j];
        }
        const float invs = 1.0f / total;
        const __m256 inv = _mm256_set1_ps(invs);
        for (size_t j = 0; j < full; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
        for (size_t j = full; j < length; j++) row[j] *= invs;
    }
}

TK256 double tk_fma_loop_avx2(uint64_t rounds) {
    __m256 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i);
    const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-9f);
    for (uint64_t r = 0; r < rounds; r++)
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], b, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, a[i]);
    volatile float sink = hsum256(s);
    (void)sink;
    return (double)rounds * 12 * 8 * 2;
}
#endif
