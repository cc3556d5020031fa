#ifndef CVECTORKERNELS_H
#define CVECTORKERNELS_H

// Scoring kernels for VectorScoring's block layout, compiled for three instruction-set levels and
// chosen at run time, so one x86-64 binary runs everywhere and still uses AVX-512 VNNI where the
// CPU has it. Swift cannot do this itself: it has no per-function target attribute, so its SIMD
// types compile for the baseline (SSE2) unless the whole module is built with -target-cpu, and a
// binary built that way crashes on older CPUs. The measured gap is quoted in KernelLevel.swift.
//
// Layouts (16 vectors per block, "lane" = vector within its block):
// - float32: block b holds dim rows of 16 floats; (lane, d) is at b*dim*16 + d*16 + lane.
// - int8:    groups = ceil(dim/4); block b holds groups rows of 64 bytes; (lane, d) is at
//            b*groups*64 + (d/4)*64 + lane*4 + d%4, stored biased as value + 128 (0...255), so that
//            VNNI's unsigned-by-signed multiply applies directly and the bias is one correction per query.
// - int4:    ngroups = ceil(dim/8); block b holds ngroups rows of 64 bytes; lane l's 4 bytes of row g are at
//            b*ngroups*64 + g*64 + l*4, byte t holding dim 8g+t in its low and dim 8g+4+t in its high nibble,
//            stored biased as value + 8 (1...15).

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set levels of the kernels.
enum {
    BL_KERNEL_GENERIC = 0,  ///< plain C, whatever the baseline target vectorises (SSE2 on x86-64)
    BL_KERNEL_AVX2 = 1,     ///< AVX2 + FMA (Haswell, Zen 1-3 and later)
    BL_KERNEL_AVX512 = 2,   ///< AVX-512 F/BW/VL + VNNI (Ice Lake, Sapphire Rapids, Zen 4 and later)
};

/// The best level this CPU and OS support (checks CPUID and that the OS saves the wider registers).
int bl_best_kernel_level(void);

/// Exact float32 scores of `nq` queries against `nblocks` blocks starting at `blocks`.
/// Query j is `dim` floats at queries + j*qstride; its score for (block b, lane l) goes to
/// out[j*ostride + b*16 + l]. Within a level every score is accumulated by the same sequence of operations
/// (d = 0, 1, 2, ... into one accumulator) whatever the number of queries or blocks, so batch scans, single
/// scans and re-scoring give bit-identical scores on one machine.
void bl_f32_scores(int level, const float *blocks, size_t nblocks, size_t dim,
                   const float *queries, size_t nq, size_t qstride, float *out, size_t ostride);

/// Approximate scores from the int8 copy: (sum of q*v over dims) * scales[lane] * qscales[j], where the
/// stored bytes are v + 128 and qsums[j] is the sum of query j's int8 values (the bias correction).
/// Query j is groups*4 int8 values (zero padded) at queries + j*qstride. `scales` has one float per stored
/// vector of these blocks (nblocks*16).
void bl_i8_scores(int level, const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                  const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                  const int32_t *qsums, float *out, size_t ostride);

/// Approximate scores from the int4 copy, like `bl_i8_scores` with a bias of 8: query j is ngroups*8 int8
/// values (zero padded) at queries + j*qstride; the stored nibbles are widened to bytes in registers.
void bl_i4_scores(int level, const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                  const int8_t *queries, size_t nq, size_t qstride, const float *qscales,
                  const int32_t *qsums, float *out, size_t ostride);

/// Writes the indices i < n with scores[i] >= floor to idx (room for n) and returns how many.
size_t bl_select_at_least(int level, const float *scores, size_t n, float floor, uint32_t *idx);

/// Normalises `v` (`dim` floats; a zero or non-finite vector becomes zeros) and writes it into lane `lane`
/// of a float32, an int8 and an int4 block (layouts above). Returns the int8 scale (max |x| / 127) and
/// stores the int4 scale (max |x| / 7) in *scale4.
float bl_store_vector(const float *v, size_t dim, float *fblock, uint8_t *bblock, uint8_t *nblock, size_t lane,
                      float *scale4);

#ifdef __cplusplus
}
#endif

#endif
