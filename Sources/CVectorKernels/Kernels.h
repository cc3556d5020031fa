// Per-level entry points; Dispatch.c picks one by the `level` argument.
#ifndef BL_KERNELS_INTERNAL_H
#define BL_KERNELS_INTERNAL_H
#include "CVectorKernels.h"

#define BL_KERNEL_SIGNATURES(suffix)                                                                   \
    void bl_f32_scores_##suffix(const float *blocks, size_t nblocks, size_t dim, const float *queries,   \
                                size_t nq, size_t qstride, float *out, size_t ostride);                  \
    void bl_i8_scores_##suffix(const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales, \
                               const int8_t *queries, size_t nq, size_t qstride, const float *qscales,    \
                               const int32_t *qsums, float *out, size_t ostride);                         \
    void bl_i4_scores_##suffix(const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,  \
                               const int8_t *queries, size_t nq, size_t qstride, const float *qscales,    \
                               const int32_t *qsums, float *out, size_t ostride);                         \
    size_t bl_select_at_least_##suffix(const float *scores, size_t n, float floor, uint32_t *idx);

BL_KERNEL_SIGNATURES(generic)
BL_KERNEL_SIGNATURES(avx2)
BL_KERNEL_SIGNATURES(avx512)

#endif
