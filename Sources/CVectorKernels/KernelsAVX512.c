// AVX-512 kernels (F/BW/VL + VNNI). Each register holds one dimension of the 16 vectors of a block, so a
// score needs no horizontal sum; two blocks and up to eight queries are scored together so every loaded
// row feeds up to 16 multiply-adds (loads, not FMAs, would otherwise be the limit in batches).
#include "Kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define BL_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,fma")))
#define BL_INLINE static inline __attribute__((always_inline))
/// How far ahead the int4 scan prefetches. Without it the int4 scan ran at ~10 GB/s (19 ms for 1M x 384 on
/// one core) although it does little work per byte; 8, 16 and 32 KB ahead gave 15, 13 and 18 ms, memory
/// bound at ~14.5 GB/s. The int8 scan was already memory bound (25 ms) and gained nothing from it.
#define BL_PREFETCH_DISTANCE 16384

/// Two blocks (b1 may equal b0 for an odd last block; then its results are not stored) against G queries.
BL_AVX512 BL_INLINE void f32_pair(const float *b0, const float *b1, int store1, size_t dim, const float *q,
                                  size_t qstride, int G, float *o, size_t ostride) {
    __m512 a0[8], a1[8];
    for (int j = 0; j < G; j++) { a0[j] = _mm512_setzero_ps(); a1[j] = _mm512_setzero_ps(); }
    for (size_t d = 0; d < dim; d++) {
        const __m512 x0 = _mm512_loadu_ps(b0 + d * 16);
        const __m512 x1 = _mm512_loadu_ps(b1 + d * 16);
        for (int j = 0; j < G; j++) {
            const __m512 qd = _mm512_set1_ps(q[j * qstride + d]);
            a0[j] = _mm512_fmadd_ps(x0, qd, a0[j]);
            a1[j] = _mm512_fmadd_ps(x1, qd, a1[j]);
        }
    }
    for (int j = 0; j < G; j++) {
        _mm512_storeu_ps(o + j * ostride, a0[j]);
        if (store1) _mm512_storeu_ps(o + j * ostride + 16, a1[j]);
    }
}

BL_AVX512 void bl_f32_scores_avx512(const float *blocks, size_t nblocks, size_t dim, const float *queries,
                                    size_t nq, size_t qstride, float *out, size_t ostride) {
    const size_t bstride = dim * 16;
    for (size_t b = 0; b < nblocks; b += 2) {
        const float *b0 = blocks + b * bstride;
        const int pair = b + 1 < nblocks;
        const float *b1 = pair ? b0 + bstride : b0;
        size_t j = 0;
        for (; j + 8 <= nq; j += 8)
            f32_pair(b0, b1, pair, dim, queries + j * qstride, qstride, 8, out + j * ostride + b * 16, ostride);
        for (; j + 4 <= nq; j += 4)
            f32_pair(b0, b1, pair, dim, queries + j * qstride, qstride, 4, out + j * ostride + b * 16, ostride);
        for (; j < nq; j++)
            f32_pair(b0, b1, pair, dim, queries + j * qstride, qstride, 1, out + j * ostride + b * 16, ostride);
    }
}

BL_AVX512 BL_INLINE void i8_pair(const uint8_t *b0, const uint8_t *b1, int store1, size_t groups,
                                 const float *sc0, const int8_t *q, size_t qstride, const float *qscales,
                                 const int32_t *qsums, int G, float *o, size_t ostride) {
    __m512i a0[8], a1[8];
    for (int j = 0; j < G; j++) { a0[j] = _mm512_setzero_si512(); a1[j] = _mm512_setzero_si512(); }
    for (size_t g = 0; g < groups; g++) {
        const __m512i x0 = _mm512_loadu_si512((const void *)(b0 + g * 64));
        const __m512i x1 = _mm512_loadu_si512((const void *)(b1 + g * 64));
        for (int j = 0; j < G; j++) {
            int32_t four;
            __builtin_memcpy(&four, q + j * qstride + g * 4, 4);
            const __m512i qg = _mm512_set1_epi32(four);
            // vpdpbusd: unsigned bytes of the stored row times signed bytes of the query, 4 per lane.
            a0[j] = _mm512_dpbusd_epi32(a0[j], x0, qg);
            a1[j] = _mm512_dpbusd_epi32(a1[j], x1, qg);
        }
    }
    const __m512 s0 = _mm512_loadu_ps(sc0);
    const __m512 s1 = store1 ? _mm512_loadu_ps(sc0 + 16) : s0;
    for (int j = 0; j < G; j++) {
        const __m512i bias = _mm512_set1_epi32(128 * qsums[j]);
        const __m512 qs = _mm512_set1_ps(qscales[j]);
        const __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a0[j], bias));
        _mm512_storeu_ps(o + j * ostride, _mm512_mul_ps(_mm512_mul_ps(f0, s0), qs));
        if (store1) {
            const __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a1[j], bias));
            _mm512_storeu_ps(o + j * ostride + 16, _mm512_mul_ps(_mm512_mul_ps(f1, s1), qs));
        }
    }
}

BL_AVX512 void bl_i8_scores_avx512(const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                                   const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                                   const int32_t *qsums, float *out, size_t ostride) {
    const size_t bstride = groups * 64;
    for (size_t b = 0; b < nblocks; b += 2) {
        const uint8_t *b0 = blocks + b * bstride;
        const int pair = b + 1 < nblocks;
        const uint8_t *b1 = pair ? b0 + bstride : b0;
        const float *sc = scales + b * 16;
        size_t j = 0;
        for (; j + 8 <= nq; j += 8)
            i8_pair(b0, b1, pair, groups, sc, queries + j * qstride, qstride, qscales + j, qsums + j, 8,
                    out + j * ostride + b * 16, ostride);
        for (; j + 4 <= nq; j += 4)
            i8_pair(b0, b1, pair, groups, sc, queries + j * qstride, qstride, qscales + j, qsums + j, 4,
                    out + j * ostride + b * 16, ostride);
        for (; j < nq; j++)
            i8_pair(b0, b1, pair, groups, sc, queries + j * qstride, qstride, qscales + j, qsums + j, 1,
                    out + j * ostride + b * 16, ostride);
    }
}

/// Like i8_pair on nibbles. Up to 4 queries, the low- and high-nibble products go to separate accumulators:
/// that halves the dependency chain of vpdpbusd (5 cycles each), which otherwise bounds a single-query scan.
BL_AVX512 BL_INLINE void i4_pair(const uint8_t *b0, const uint8_t *b1, int store1, size_t ngroups,
                                 const float *sc0, const int8_t *q, size_t qstride, const float *qscales,
                                 const int32_t *qsums, int G, float *o, size_t ostride) {
    const __m512i nibble = _mm512_set1_epi8(0x0F);
    const int split = G <= 4;
    __m512i a0[8], a1[8], h0[4], h1[4];
    for (int j = 0; j < G; j++) { a0[j] = _mm512_setzero_si512(); a1[j] = _mm512_setzero_si512(); }
    for (int j = 0; j < 4; j++) { h0[j] = _mm512_setzero_si512(); h1[j] = _mm512_setzero_si512(); }
    for (size_t g = 0; g < ngroups; g++) {
        _mm_prefetch((const char *)(b0 + g * 64 + BL_PREFETCH_DISTANCE), _MM_HINT_T0);
        _mm_prefetch((const char *)(b1 + g * 64 + BL_PREFETCH_DISTANCE), _MM_HINT_T0);
        const __m512i x0 = _mm512_loadu_si512((const void *)(b0 + g * 64));
        const __m512i x1 = _mm512_loadu_si512((const void *)(b1 + g * 64));
        const __m512i lo0 = _mm512_and_si512(x0, nibble), hi0 = _mm512_and_si512(_mm512_srli_epi16(x0, 4), nibble);
        const __m512i lo1 = _mm512_and_si512(x1, nibble), hi1 = _mm512_and_si512(_mm512_srli_epi16(x1, 4), nibble);
        for (int j = 0; j < G; j++) {
            int32_t low4, high4;
            __builtin_memcpy(&low4, q + j * qstride + g * 8, 4);
            __builtin_memcpy(&high4, q + j * qstride + g * 8 + 4, 4);
            const __m512i ql = _mm512_set1_epi32(low4), qh = _mm512_set1_epi32(high4);
            a0[j] = _mm512_dpbusd_epi32(a0[j], lo0, ql);
            a1[j] = _mm512_dpbusd_epi32(a1[j], lo1, ql);
            if (split) {
                h0[j & 3] = _mm512_dpbusd_epi32(h0[j & 3], hi0, qh);
                h1[j & 3] = _mm512_dpbusd_epi32(h1[j & 3], hi1, qh);
            } else {
                a0[j] = _mm512_dpbusd_epi32(a0[j], hi0, qh);
                a1[j] = _mm512_dpbusd_epi32(a1[j], hi1, qh);
            }
        }
    }
    const __m512 s0 = _mm512_loadu_ps(sc0);
    const __m512 s1 = store1 ? _mm512_loadu_ps(sc0 + 16) : s0;
    for (int j = 0; j < G; j++) {
        if (split) {
            a0[j] = _mm512_add_epi32(a0[j], h0[j & 3]);
            a1[j] = _mm512_add_epi32(a1[j], h1[j & 3]);
        }
        const __m512i bias = _mm512_set1_epi32(8 * qsums[j]);
        const __m512 qs = _mm512_set1_ps(qscales[j]);
        const __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a0[j], bias));
        _mm512_storeu_ps(o + j * ostride, _mm512_mul_ps(_mm512_mul_ps(f0, s0), qs));
        if (store1) {
            const __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a1[j], bias));
            _mm512_storeu_ps(o + j * ostride + 16, _mm512_mul_ps(_mm512_mul_ps(f1, s1), qs));
        }
    }
}

BL_AVX512 void bl_i4_scores_avx512(const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                                   const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                                   const int32_t *qsums, float *out, size_t ostride) {
    const size_t bstride = ngroups * 64;
    for (size_t b = 0; b < nblocks; b += 2) {
        const uint8_t *b0 = blocks + b * bstride;
        const int pair = b + 1 < nblocks;
        const uint8_t *b1 = pair ? b0 + bstride : b0;
        const float *sc = scales + b * 16;
        size_t j = 0;
        for (; j + 8 <= nq; j += 8)
            i4_pair(b0, b1, pair, ngroups, sc, queries + j * qstride, qstride, qscales + j, qsums + j, 8,
                    out + j * ostride + b * 16, ostride);
        for (; j + 4 <= nq; j += 4)
            i4_pair(b0, b1, pair, ngroups, sc, queries + j * qstride, qstride, qscales + j, qsums + j, 4,
                    out + j * ostride + b * 16, ostride);
        for (; j < nq; j++)
            i4_pair(b0, b1, pair, ngroups, sc, queries + j * qstride, qstride, qscales + j, qsums + j, 1,
                    out + j * ostride + b * 16, ostride);
    }
}

BL_AVX512 size_t bl_select_at_least_avx512(const float *scores, size_t n, float floor, uint32_t *idx) {
    size_t count = 0, i = 0;
    const __m512 f = _mm512_set1_ps(floor);
    const __m512i step = _mm512_set1_epi32(16);
    __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; i + 16 <= n; i += 16) {
        const __mmask16 m = _mm512_cmp_ps_mask(_mm512_loadu_ps(scores + i), f, _CMP_GE_OQ);
        if (m) {
            _mm512_mask_compressstoreu_epi32(idx + count, m, iota);
            count += (size_t)__builtin_popcount(m);
        }
        iota = _mm512_add_epi32(iota, step);
    }
    for (; i < n; i++)
        if (scores[i] >= floor) idx[count++] = (uint32_t)i;
    return count;
}

#else
void bl_f32_scores_avx512(const float *blocks, size_t nblocks, size_t dim, const float *queries, size_t nq,
                          size_t qstride, float *out, size_t ostride) {
    bl_f32_scores_generic(blocks, nblocks, dim, queries, nq, qstride, out, ostride);
}
void bl_i8_scores_avx512(const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                         const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                         const int32_t *qsums, float *out, size_t ostride) {
    bl_i8_scores_generic(blocks, nblocks, groups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
}
void bl_i4_scores_avx512(const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                         const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                         const int32_t *qsums, float *out, size_t ostride) {
    bl_i4_scores_generic(blocks, nblocks, ngroups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
}
size_t bl_select_at_least_avx512(const float *scores, size_t n, float floor, uint32_t *idx) {
    return bl_select_at_least_generic(scores, n, floor, idx);
}
#endif
