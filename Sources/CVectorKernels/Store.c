// Writing one vector into its lane of the block matrices (float32, int8, int4). In C (one baseline version, no dispatch): the
// Swift loop ran at ~3-10 us per vector (a 1M build took 5-12 s) because the max and the rounding compiled
// to scalar code with libm calls. Here every pass reads `v` contiguously, so clang vectorises it with SSE2.
#include "CVectorKernels.h"
#include <math.h>

static inline uint32_t bl_quantize4(const float *v, size_t n, float toInt) {
    uint32_t word = 0x80808080u;  // padding dimensions stay 0 (stored as 128)
    for (size_t k = 0; k < n; k++) {
        const float y = v[k] * toInt;
        int q = (int)(y + (y < 0 ? -0.5f : 0.5f));  // half away from zero, as BlockStorage.quantize
        q = q < -127 ? -127 : (q > 127 ? 127 : q);
        word = (word & ~(0xFFu << (8 * k))) | ((uint32_t)(q + 128) << (8 * k));
    }
    return word;
}

/// Dims d0..d0+n-1 (n <= 8) as one lane's 4 bytes of an int4 row: byte t holds dim t (low nibble) and t+4.
static inline uint32_t bl_quantize8x4(const float *v, size_t n, float toInt) {
    uint32_t word = 0;
    for (size_t k = 0; k < 8; k++) {
        int q = 0;
        if (k < n) {
            const float y = v[k] * toInt;
            q = (int)(y + (y < 0 ? -0.5f : 0.5f));
            q = q < -7 ? -7 : (q > 7 ? 7 : q);
        }
        const size_t byte = k & 3, shift = 8 * byte + (k < 4 ? 0 : 4);
        word |= (uint32_t)(q + 8) << shift;
    }
    return word;
}

float bl_store_vector(const float *v, size_t dim, float *fblock, uint8_t *bblock, uint8_t *nblock, size_t lane,
                      float *scale4) {
    // Eight partial sums and maxima let the compiler vectorise without reassociating (no -ffast-math).
    float sq[8] = {0}, mx[8] = {0};
    size_t d = 0;
    for (; d + 8 <= dim; d += 8) {
        for (int k = 0; k < 8; k++) {
            const float x = v[d + k];
            sq[k] += x * x;
            const float a = fabsf(x);
            mx[k] = a > mx[k] ? a : mx[k];
        }
    }
    float sum = 0, maxAbs = 0;
    for (int k = 0; k < 8; k++) {
        sum += sq[k];
        maxAbs = mx[k] > maxAbs ? mx[k] : maxAbs;
    }
    for (; d < dim; d++) {
        sum += v[d] * v[d];
        maxAbs = fabsf(v[d]) > maxAbs ? fabsf(v[d]) : maxAbs;
    }
    const float length = sqrtf(sum);
    const int usable = length > 0 && isfinite(length) && isfinite(maxAbs);
    const float inverse = usable ? 1.0f / length : 0.0f;

    float *f = fblock + lane;
    for (d = 0; d < dim; d++) f[d * 16] = usable ? v[d] * inverse : 0.0f;
    if (!usable) {
        // Stored as zeros (bytes 128, nibbles 8). Not through the quantisers: with toInt = 0 a NaN or infinite
        // component still gives y = NaN there, and converting NaN to int is undefined behaviour in C.
        uint8_t *b = bblock + lane * 4, *n = nblock + lane * 4;
        for (d = 0; d < dim; d += 4) __builtin_memset(b + (d >> 2) * 64, 0x80, 4);
        for (d = 0; d < dim; d += 8) __builtin_memset(n + (d >> 3) * 64, 0x88, 4);
        *scale4 = 0.0f;
        return 0.0f;
    }

    // Stored x = v / length; its int8 scale is max|x| / 127, so x / scale = v * 127 / max|v|.
    const float toInt = usable && maxAbs > 0 ? 127.0f / maxAbs : 0.0f;
    uint8_t *b = bblock + lane * 4;
    for (d = 0; d + 4 <= dim; d += 4) {
        const uint32_t word = bl_quantize4(v + d, 4, toInt);
        __builtin_memcpy(b + (d >> 2) * 64, &word, 4);
    }
    if (d < dim) {
        const uint32_t word = bl_quantize4(v + d, dim - d, toInt);
        __builtin_memcpy(b + (d >> 2) * 64, &word, 4);
    }
    const float toInt4 = usable && maxAbs > 0 ? 7.0f / maxAbs : 0.0f;
    uint8_t *n = nblock + lane * 4;
    for (d = 0; d < dim; d += 8) {
        const uint32_t word = bl_quantize8x4(v + d, dim - d < 8 ? dim - d : 8, toInt4);
        __builtin_memcpy(n + (d >> 3) * 64, &word, 4);
    }
    *scale4 = usable ? maxAbs * inverse / 7.0f : 0.0f;
    return usable ? maxAbs * inverse / 127.0f : 0.0f;
}
