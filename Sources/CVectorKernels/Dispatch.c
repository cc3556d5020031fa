// Run-time choice of the kernel level: CPUID says what the CPU has, XGETBV what the OS saves on a
// context switch (a CPU with AVX-512 under an OS or hypervisor that does not enable it must not use it).
#include "Kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t bl_xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int bl_detect_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return BL_KERNEL_GENERIC;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return BL_KERNEL_GENERIC;
    const uint64_t xcr0 = bl_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return BL_KERNEL_GENERIC;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return BL_KERNEL_GENERIC;
    const int avx2 = (b >> 5) & 1;
    const int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    const int vnni = (c >> 11) & 1;
    if (avx512f && avx512bw && avx512vl && vnni && (xcr0 & 0xE0) == 0xE0) return BL_KERNEL_AVX512;
    if (avx2 && fma) return BL_KERNEL_AVX2;
    return BL_KERNEL_GENERIC;
}
#else
static int bl_detect_level(void) { return BL_KERNEL_GENERIC; }
#endif

int bl_best_kernel_level(void) {
    // Racing first calls compute the same value; the relaxed atomic only keeps the race defined.
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = bl_detect_level();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

/// A level the caller asks for is clamped to what the CPU supports, so a forced level can never fault.
static int bl_usable(int level) {
    const int best = bl_best_kernel_level();
    return level < best ? (level < 0 ? 0 : level) : best;
}

void bl_f32_scores(int level, const float *blocks, size_t nblocks, size_t dim, const float *queries, size_t nq,
                   size_t qstride, float *out, size_t ostride) {
    switch (bl_usable(level)) {
    case BL_KERNEL_AVX512: bl_f32_scores_avx512(blocks, nblocks, dim, queries, nq, qstride, out, ostride); break;
    case BL_KERNEL_AVX2: bl_f32_scores_avx2(blocks, nblocks, dim, queries, nq, qstride, out, ostride); break;
    default: bl_f32_scores_generic(blocks, nblocks, dim, queries, nq, qstride, out, ostride); break;
    }
}

void bl_i8_scores(int level, const uint8_t *blocks, size_t nblocks, size_t groups, const float *scales,
                  const int8_t *queries, size_t nq, size_t qstride, const float *qscales, const int32_t *qsums,
                  float *out, size_t ostride) {
    switch (bl_usable(level)) {
    case BL_KERNEL_AVX512:
        bl_i8_scores_avx512(blocks, nblocks, groups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
        break;
    case BL_KERNEL_AVX2:
        bl_i8_scores_avx2(blocks, nblocks, groups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
        break;
    default:
        bl_i8_scores_generic(blocks, nblocks, groups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
        break;
    }
}

void bl_i4_scores(int level, const uint8_t *blocks, size_t nblocks, size_t ngroups, const float *scales,
                  const int8_t *queries, size_t nq, size_t qstride, const float *qscales, const int32_t *qsums,
                  float *out, size_t ostride) {
    switch (bl_usable(level)) {
    case BL_KERNEL_AVX512:
        bl_i4_scores_avx512(blocks, nblocks, ngroups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
        break;
    case BL_KERNEL_AVX2:
        bl_i4_scores_avx2(blocks, nblocks, ngroups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
        break;
    default:
        bl_i4_scores_generic(blocks, nblocks, ngroups, scales, queries, nq, qstride, qscales, qsums, out, ostride);
        break;
    }
}

size_t bl_select_at_least(int level, const float *scores, size_t n, float floor, uint32_t *idx) {
    switch (bl_usable(level)) {
    case BL_KERNEL_AVX512: return bl_select_at_least_avx512(scores, n, floor, idx);
    case BL_KERNEL_AVX2: return bl_select_at_least_avx2(scores, n, floor, idx);
    default: return bl_select_at_least_generic(scores, n, floor, idx);
    }
}
