// Run-time choice of the kernel level (CPUID for what the CPU has, XGETBV for what the OS saves on a context
// switch: AVX-512 under an OS or hypervisor that does not enable it must not be used), weight packing, and the
// public entry points.
#include "Kernels.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t tk_xgetbv0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static int tk_detect_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return TK_LEVEL_GENERIC;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx) return TK_LEVEL_GENERIC;
    const uint64_t xcr0 = tk_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return TK_LEVEL_GENERIC;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return TK_LEVEL_GENERIC;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    if (avx512f && fma && (xcr0 & 0xE0) == 0xE0) return TK_LEVEL_AVX512;  // opmask and ZMM state
    if (avx2 && fma) return TK_LEVEL_AVX2;
    return TK_LEVEL_GENERIC;
}
#else
static int tk_detect_level(void) { return TK_LEVEL_GENERIC; }
#endif

int tk_best_level(void) {
    // Racing first calls compute the same value; the relaxed atomic only keeps the race defined.
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = tk_detect_level();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

/// A requested level is clamped to what the CPU supports, so a forced level can never fault.
static int tk_usable(int level) {
    const int best = tk_best_level();
    return level < best ? (level < 0 ? 0 : level) : best;
}

size_t tk_packed_count(size_t n, size_t k) { return (n + TK_PANEL - 1) / TK_PANEL * TK_PANEL * k; }

void tk_pack_weights(const float *w, size_t n, size_t k, float *packed) {
    const size_t panels = (n + TK_PANEL - 1) / TK_PANEL;
    for (size_t p = 0; p < panels; p++) {
        float *dst = packed + p * k * TK_PANEL;
        for (size_t kk = 0; kk < k; kk++) {
            for (size_t j = 0; j < TK_PANEL; j++) {
                const size_t row = p * TK_PANEL + j;
                dst[kk * TK_PANEL + j] = row < n ? w[row * k + kk] : 0.0f;
            }
        }
    }
}

size_t tk_linear_scratch_count(void) { return (TK_MC + 12) * TK_KC; }

void tk_pack_rows(const tk_linear_args *a, size_t i0, size_t i1, size_t k0, size_t kc, size_t mr, float *xp) {
    for (size_t g = i0; g < i1; g += mr) {
        float *dst = xp + (g - i0) * kc;
        for (size_t r = 0; r < mr; r++) {
            if (g + r < i1) {
                const float *src = a->x + (g + r) * a->ldx + k0;
                for (size_t kk = 0; kk < kc; kk++) dst[kk * mr + r] = src[kk];
            } else {
                for (size_t kk = 0; kk < kc; kk++) dst[kk * mr + r] = 0.0f;
            }
        }
    }
}

void tk_linear(int level, const tk_linear_args *args, size_t m) {
    if (m == 0 || args->n == 0) return;
    switch (tk_usable(level)) {
#if defined(__x86_64__)
    case TK_LEVEL_AVX512: tk_linear_avx512(args, m); break;
    case TK_LEVEL_AVX2: tk_linear_avx2(args, m); break;
#endif
    default: tk_linear_generic(args, m); break;
    }
}

void tk_layer_norm(int level, float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta,
                   float eps) {
    if (rows == 0 || cols == 0) return;
    switch (cols % 16 == 0 ? tk_usable(level) : TK_LEVEL_GENERIC) {
#if defined(__x86_64__)
    case TK_LEVEL_AVX512: tk_layer_norm_avx512(x, rows, ld, cols, gamma, beta, eps); break;
    case TK_LEVEL_AVX2: tk_layer_norm_avx2(x, rows, ld, cols, gamma, beta, eps); break;
#endif
    default: tk_layer_norm_generic(x, rows, ld, cols, gamma, beta, eps); break;
    }
}

size_t tk_attention_scratch_count(size_t length, size_t head_dim) {
    // K of one head transposed (head_dim rows of the padded length), and four rows of scores.
    return head_dim * tk_round16(length) + 4 * tk_round16(length) + 64;
}

void tk_attention(int level, const float *qkv, size_t ldqkv, size_t length, size_t heads, size_t head_dim, float *out,
                  size_t ldo, float *scratch) {
    if (length == 0 || heads == 0) return;
    // The vector paths keep a head's output row in at most four registers of 16 floats.
    const int vectorizable = head_dim % 16 == 0 && head_dim <= 64;
    switch (vectorizable ? tk_usable(level) : TK_LEVEL_GENERIC) {
#if defined(__x86_64__)
    case TK_LEVEL_AVX512: tk_attention_avx512(qkv, ldqkv, length, heads, head_dim, out, ldo, scratch); break;
    case TK_LEVEL_AVX2: tk_attention_avx2(qkv, ldqkv, length, heads, head_dim, out, ldo, scratch); break;
#endif
    default: tk_attention_generic(qkv, ldqkv, length, heads, head_dim, out, ldo, scratch); break;
    }
}

static double tk_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

double tk_measure_fma_gflops(int level, double seconds) {
    const int used = tk_usable(level);
    double (*loop)(uint64_t) = tk_fma_loop_generic;
#if defined(__x86_64__)
    if (used == TK_LEVEL_AVX512) loop = tk_fma_loop_avx512;
    else if (used == TK_LEVEL_AVX2) loop = tk_fma_loop_avx2;
#endif
    // Calibrate on a short run, then time one run of about `seconds` (the first also warms up the clock: AVX-512
    // code lowers the core's frequency, and the measurement should see the frequency the kernels run at).
    uint64_t rounds = 1u << 16;
    double flop = 0, elapsed = 0;
    for (int pass = 0; pass < 2; pass++) {
        const double start = tk_now();
        flop = loop(rounds);
        elapsed = tk_now() - start;
        if (pass == 0) {
            const double target = seconds > 0.01 ? seconds : 0.01;
            const double scale = elapsed > 0 ? target / elapsed : 1000;
            rounds = (uint64_t)((double)rounds * (scale < 1 ? 1 : scale));
        }
    }
    return elapsed > 0 ? flop / elapsed * 1e-9 : 0;
}
