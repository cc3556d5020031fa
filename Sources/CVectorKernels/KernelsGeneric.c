// Plain C kernels for CPUs without AVX2 (and for non-x86 builds). One code path per kernel, so every
// score on this level is computed by the same sequence of operations.
#include "Kernels.h"

void bl_f32_scores_generic(const float *blocks, size_t nblocks, size_t dim, const float *queries, size_t nq,
                           size_t qstride, float *out, size_t ostride) {
    for (size_t b = 0; b < nblocks; b++) {
        const float *block = blocks + b * dim * 16;
        for (size_t j = 0; j < nq; j++) {
            const float *q = queries + j * qstride;
            float acc[16] = {0};
            for (size_t d = 0; d < dim; d++) {
                const float qd = q[d];
                const float *row = block + d * 16;
                for (int l = 0; l < 16; l++) acc[l] += row[l] * qd;
            }
            float *o = out + j * ostride + b * 16;
            for (int l = 0; l < 16; l++) o[l] = acc[l];
        }
    }
}

void bl_i8_scores_generic(const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                          const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                          const int32_t *qsums, float *out, size_t ostride) {
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *block = blocks + b * groups * 64;
        for (size_t j = 0; j < nq; j++) {
            const int8_t *q = queries + j * qstride;
            int32_t acc[16] = {0};
            for (size_t g = 0; g < groups; g++) {
                const uint8_t *row = block + g * 64;
                const int32_t q0 = q[4 * g], q1 = q[4 * g + 1], q2 = q[4 * g + 2], q3 = q[4 * g + 3];
                for (int l = 0; l < 16; l++) {
                    acc[l] += row[4 * l] * q0 + row[4 * l + 1] * q1 + row[4 * l + 2] * q2 + row[4 * l + 3] * q3;
                }
            }
            const int32_t bias = 128 * qsums[j];
            const float qscale = qscales[j];
            float *o = out + j * ostride + b * 16;
            for (int l = 0; l < 16; l++) o[l] = (float)(acc[l] - bias) * scales[b * 16 + l] * qscale;
        }
    }
}

void bl_i4_scores_generic(const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                          const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                          const int32_t *qsums, float *out, size_t ostride) {
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *block = blocks + b * ngroups * 64;
        for (size_t j = 0; j < nq; j++) {
            const int8_t *q = queries + j * qstride;
            int32_t acc[16] = {0};
            for (size_t g = 0; g < ngroups; g++) {
                const uint8_t *row = block + g * 64;
                const int8_t *qg = q + 8 * g;
                for (int l = 0; l < 16; l++) {
                    int32_t sum = 0;
                    for (int t = 0; t < 4; t++)
                        sum += (row[4 * l + t] & 15) * qg[t] + (row[4 * l + t] >> 4) * qg[4 + t];
                    acc[l] += sum;
                }
            }
            const int32_t bias = 8 * qsums[j];
            const float qscale = qscales[j];
            float *o = out + j * ostride + b * 16;
            for (int l = 0; l < 16; l++) o[l] = (float)(acc[l] - bias) * scales[b * 16 + l] * qscale;
        }
    }
}

size_t bl_select_at_least_generic(const float *scores, size_t n, float floor, uint32_t *idx) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (scores[i] >= floor) idx[count++] = (uint32_t)i;
    }
    return count;
}
