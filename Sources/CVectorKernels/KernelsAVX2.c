// AVX2 + FMA kernels for CPUs without AVX-512 VNNI. A block row of 16 floats is two registers; the int8
// rows are widened to int16 and multiplied with vpmaddwd (vpmaddubsw would saturate: 255 * 127 * 2 > 32767).
#include "Kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define BL_AVX2 __attribute__((target("avx2,fma")))
#define BL_INLINE static inline __attribute__((always_inline))

BL_AVX2 BL_INLINE void f32_block(const float *blk, size_t dim, const float *q, size_t qstride, int G, float *o,
                                 size_t ostride) {
    __m256 lo[4], hi[4];
    for (int j = 0; j < G; j++) { lo[j] = _mm256_setzero_ps(); hi[j] = _mm256_setzero_ps(); }
    for (size_t d = 0; d < dim; d++) {
        const __m256 x0 = _mm256_loadu_ps(blk + d * 16);
        const __m256 x1 = _mm256_loadu_ps(blk + d * 16 + 8);
        for (int j = 0; j < G; j++) {
            const __m256 qd = _mm256_set1_ps(q[j * qstride + d]);
            lo[j] = _mm256_fmadd_ps(x0, qd, lo[j]);
            hi[j] = _mm256_fmadd_ps(x1, qd, hi[j]);
        }
    }
    for (int j = 0; j < G; j++) {
        _mm256_storeu_ps(o + j * ostride, lo[j]);
        _mm256_storeu_ps(o + j * ostride + 8, hi[j]);
    }
}

BL_AVX2 void bl_f32_scores_avx2(const float *blocks, size_t nblocks, size_t dim, const float *queries, size_t nq,
                                size_t qstride, float *out, size_t ostride) {
    for (size_t b = 0; b < nblocks; b++) {
        const float *blk = blocks + b * dim * 16;
        size_t j = 0;
        for (; j + 4 <= nq; j += 4)
            f32_block(blk, dim, queries + j * qstride, qstride, 4, out + j * ostride + b * 16, ostride);
        for (; j < nq; j++)
            f32_block(blk, dim, queries + j * qstride, qstride, 1, out + j * ostride + b * 16, ostride);
    }
}

BL_AVX2 void bl_i8_scores_avx2(const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                               const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                               const int32_t *qsums, float *out, size_t ostride) {
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + b * groups * 64;
        for (size_t j = 0; j < nq; j++) {
            const int8_t *q = queries + j * qstride;
            // acc[k] holds lanes 4k..4k+3 as pairs of partial sums (dims 0+1 and 2+3 of each group).
            __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                              _mm256_setzero_si256()};
            for (size_t g = 0; g < groups; g++) {
                const uint64_t pattern = (uint64_t)(uint16_t)q[4 * g] | (uint64_t)(uint16_t)q[4 * g + 1] << 16 |
                                         (uint64_t)(uint16_t)q[4 * g + 2] << 32 |
                                         (uint64_t)(uint16_t)q[4 * g + 3] << 48;
                const __m256i qg = _mm256_set1_epi64x((long long)pattern);
                const uint8_t *row = blk + g * 64;
                for (int k = 0; k < 4; k++) {
                    const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + 16 * k)));
                    acc[k] = _mm256_add_epi32(acc[k], _mm256_madd_epi16(x, qg));
                }
            }
            const __m256i bias = _mm256_set1_epi32(128 * qsums[j]);
            const __m256 qs = _mm256_set1_ps(qscales[j]);
            float *o = out + j * ostride + b * 16;
            for (int h = 0; h < 2; h++) {
                // hadd gives [l0 l1 l4 l5 | l2 l3 l6 l7] (relative to 8h); the permute restores lane order.
                const __m256i pairs = _mm256_hadd_epi32(acc[2 * h], acc[2 * h + 1]);
                const __m256i lanes = _mm256_permute4x64_epi64(pairs, 0xD8);
                const __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(lanes, bias));
                const __m256 s = _mm256_loadu_ps(scales + b * 16 + 8 * h);
                _mm256_storeu_ps(o + 8 * h, _mm256_mul_ps(_mm256_mul_ps(f, s), qs));
            }
        }
    }
}

BL_AVX2 void bl_i4_scores_avx2(const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                               const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                               const int32_t *qsums, float *out, size_t ostride) {
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *blk = blocks + b * ngroups * 64;
        for (size_t j = 0; j < nq; j++) {
            const int8_t *q = queries + j * qstride;
            __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                              _mm256_setzero_si256()};
            for (size_t g = 0; g < ngroups; g++) {
                const int8_t *qg = q + 8 * g;
                const uint64_t low = (uint64_t)(uint16_t)qg[0] | (uint64_t)(uint16_t)qg[1] << 16 |
                                     (uint64_t)(uint16_t)qg[2] << 32 | (uint64_t)(uint16_t)qg[3] << 48;
                const uint64_t high = (uint64_t)(uint16_t)qg[4] | (uint64_t)(uint16_t)qg[5] << 16 |
                                      (uint64_t)(uint16_t)qg[6] << 32 | (uint64_t)(uint16_t)qg[7] << 48;
                const __m256i ql = _mm256_set1_epi64x((long long)low), qh = _mm256_set1_epi64x((long long)high);
                const uint8_t *row = blk + g * 64;
                for (int k = 0; k < 4; k++) {
                    const __m128i x = _mm_loadu_si128((const __m128i *)(row + 16 * k));
                    const __m256i lo = _mm256_cvtepu8_epi16(_mm_and_si128(x, nibble));
                    const __m256i hi = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(x, 4), nibble));
                    acc[k] = _mm256_add_epi32(acc[k], _mm256_add_epi32(_mm256_madd_epi16(lo, ql), _mm256_madd_epi16(hi, qh)));
                }
            }
            const __m256i bias = _mm256_set1_epi32(8 * qsums[j]);
            const __m256 qs = _mm256_set1_ps(qscales[j]);
            float *o = out + j * ostride + b * 16;
            for (int h = 0; h < 2; h++) {
                const __m256i lanes = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[2 * h], acc[2 * h + 1]), 0xD8);
                const __m256 f = _mm256_cvtepi32_ps(_mm256_sub_epi32(lanes, bias));
                const __m256 s = _mm256_loadu_ps(scales + b * 16 + 8 * h);
                _mm256_storeu_ps(o + 8 * h, _mm256_mul_ps(_mm256_mul_ps(f, s), qs));
            }
        }
    }
}

BL_AVX2 size_t bl_select_at_least_avx2(const float *scores, size_t n, float floor, uint32_t *idx) {
    size_t count = 0, i = 0;
    const __m256 f = _mm256_set1_ps(floor);
    for (; i + 8 <= n; i += 8) {
        int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + i), f, _CMP_GE_OQ));
        while (m) {
            idx[count++] = (uint32_t)(i + (size_t)__builtin_ctz((unsigned)m));
            m &= m - 1;
        }
    }
    for (; i < n; i++)
        if (scores[i] >= floor) idx[count++] = (uint32_t)i;
    return count;
}

#else
void bl_f32_scores_avx2(const float *blocks, size_t nblocks, size_t dim, const float *queries, size_t nq,
                        size_t qstride, float *out, size_t ostride) {
    bl_f32_scores_generic(blocks, nblocks, dim, queries, nq, qstride, out, ostride);
}
void bl_i8_scores_avx2(const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                       const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                       const int32_t *qsums, float *out, size_t ostride) {
    bl_i8_scores_generic(blocks, nblocks, groups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
}
void bl_i4_scores_avx2(const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                       const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                       const int32_t *qsums, float *out, size_t ostride) {
    bl_i4_scores_generic(blocks, nblocks, ngroups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
}
size_t bl_select_at_least_avx2(const float *scores, size_t n, float floor, uint32_t *idx) {
    return bl_select_at_least_generic(scores, n, floor, idx);
}
#endif
