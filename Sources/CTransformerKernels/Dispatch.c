// Run-time choice of the kernel level (CPUID for what the CPU has, XGETBV for what the OS saves on a context
// switch: AVX-512 under an OS or hypervisor that does not enable it must not be used), weight packing, and the
// public entry points.
#include "Kernels.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
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
    const size_t rows = (i1 - i0 + mr - 1) / mr * mr;
    for (size_t r = 0; r < rows; r++) {
        float *dst = xp + r * TK_KC;
        // Rows past the end are zero rather than stale: a stale NaN or subnormal would not reach the output, but
        // subnormal operands make FMAs take a slow microcode path on Intel CPUs.
        if (i0 + r < i1) memcpy(dst, a->x + (i0 + r) * a->ldx + k0, kc * sizeof(float));
        else memset(dst, 0, kc * sizeof(float));
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

/// Each row: scores scaled, softmax over the first `length` (the rest of the row is left alone).
static void tk_softmax_rows(int level, float *s, size_t rows, size_t ld, size_t length, float scale) {
    switch (tk_usable(level)) {
#if defined(__x86_64__)
    case TK_LEVEL_AVX512: tk_softmax_rows_avx512(s, rows, ld, length, scale); break;
    case TK_LEVEL_AVX2: tk_softmax_rows_avx2(s, rows, ld, length, scale); break;
#endif
    default: tk_softmax_rows_generic(s, rows, ld, length, scale); break;
    }
}

/// Floats between rows of the score matrix: TK_KC when a row fits, so the second product reads the scores in place.
static size_t tk_score_stride(size_t length) {
    const size_t lp = tk_round32(length);
    return lp <= TK_KC ? TK_KC : lp;
}

size_t tk_attention_scratch_count(size_t length, size_t head_dim) {
    const size_t lp = tk_round32(length), hp = tk_round32(head_dim);
    // Keys and values of one head packed as weights, the scores (with 12 rows of padding), the product's scratch.
    return lp * hp + lp * hp + (length + 12) * tk_score_stride(length) + tk_linear_scratch_count() + 64;
}

void tk_attention(int level, const float *qkv, size_t ldqkv, size_t length, size_t heads, size_t head_dim, float *out,
                  size_t ldo, float *scratch) {
    if (length == 0 || heads == 0 || head_dim % TK_PANEL != 0) return;
    // Both products of a head are tk_linear calls, so attention runs on the tuned matrix kernel: scores = Q · Kᵀ with
    // the keys packed as the "weights" (one output per key), then context = P · V with the values packed as weights
    // (one output per dimension of the head). Keys past `length` and the padding of the head are zero.
    // A dedicated kernel (4 query rows against 16 keys at a time, K transposed) reached about 28 GFLOP/s here, 18 %
    // of the encoder's time on 250-token postings for 10 % of its FLOPs.
    const size_t hidden = heads * head_dim, lp = tk_round32(length), hp = head_dim, ls = tk_score_stride(length);
    float *keys = scratch, *values = keys + lp * hp, *scores = values + lp * hp;
    float *linear_scratch = (float *)(((uintptr_t)(scores + (length + 12) * ls) + 63) & ~(uintptr_t)63);
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (size_t h = 0; h < heads; h++) {
        const float *q = qkv + h * head_dim, *k = qkv + hidden + h * head_dim, *v = qkv + 2 * hidden + h * head_dim;
        for (size_t p = 0; p < lp / TK_PANEL; p++)
            for (size_t d = 0; d < head_dim; d++)
                for (size_t j = 0; j < TK_PANEL; j++) {
                    const size_t key = p * TK_PANEL + j;
                    keys[(p * head_dim + d) * TK_PANEL + j] = key < length ? k[key * ldqkv + d] : 0.0f;
                }
        for (size_t p = 0; p < hp / TK_PANEL; p++)
            for (size_t j = 0; j < lp; j++)
                for (size_t c = 0; c < TK_PANEL; c++) {
                    const size_t d = p * TK_PANEL + c;
                    values[(p * lp + j) * TK_PANEL + c] = j < length && d < head_dim ? v[j * ldqkv + d] : 0.0f;
                }
        tk_linear_args s = {.x = q, .ldx = ldqkv, .packed = keys, .k = head_dim, .n = lp, .y = scores, .ldy = ls,
                            .scratch = linear_scratch};
        tk_linear(level, &s, length);
        tk_softmax_rows(level, scores, length, ls, length, scale);
        // Columns past `length` still hold the scores of padding keys; their values are zero, so they add nothing.
        tk_linear_args o = {.x = scores, .ldx = ls, .packed = values, .k = lp, .n = head_dim, .y = out + h * head_dim,
                            .ldy = ldo, .scratch = linear_scratch, .x_padded = 1};
        tk_linear(level, &o, length);
    }
}

/// The calling thread's CPU time: the machine may be shared, and time the thread spends preempted is not the FMA
/// units' speed.
static double tk_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
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
