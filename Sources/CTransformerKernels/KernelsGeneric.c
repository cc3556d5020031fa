// Plain C versions of every kernel, for CPUs without AVX2 + FMA and for shapes the vector paths do not take.
// The compiler vectorises the inner loops over a panel's 32 outputs at the baseline target.
#include "Kernels.h"
#include <math.h>
#include <string.h>

float tk_gelu_scalar(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }

void tk_linear_generic(const tk_linear_args *a, size_t m) {
    const size_t panels = a->n / TK_PANEL;
    for (size_t i = 0; i < m; i++) {
        const float *x = a->x + i * a->ldx;
        for (size_t p = 0; p < panels; p++) {
            const float *w = a->packed + p * a->k * TK_PANEL;
            float acc[TK_PANEL];
            for (size_t j = 0; j < TK_PANEL; j++) acc[j] = a->bias ? a->bias[p * TK_PANEL + j] : 0.0f;
            for (size_t kk = 0; kk < a->k; kk++) {
                const float xv = x[kk];
                for (size_t j = 0; j < TK_PANEL; j++) acc[j] += xv * w[kk * TK_PANEL + j];
            }
            float *y = a->y + i * a->ldy + p * TK_PANEL;
            for (size_t j = 0; j < TK_PANEL; j++) {
                float v = a->gelu ? tk_gelu_scalar(acc[j]) : acc[j];
                if (a->residual) v += a->residual[i * a->ldr + p * TK_PANEL + j];
                y[j] = v;
            }
        }
    }
}

void tk_layer_norm_generic(float *x, size_t rows, size_t ld, size_t cols, const float *gamma, const float *beta,
                           float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        float sum = 0;
        for (size_t c = 0; c < cols; c++) sum += row[c];
        const float mean = sum / (float)cols;
        float var = 0;
        for (size_t c = 0; c < cols; c++) var += (row[c] - mean) * (row[c] - mean);
        const float inv = 1.0f / sqrtf(var / (float)cols + eps);
        for (size_t c = 0; c < cols; c++) row[c] = (row[c] - mean) * inv * gamma[c] + beta[c];
    }
}

void tk_softmax_rows_generic(float *s, size_t rows, size_t ld, size_t length, float scale) {
    for (size_t i = 0; i < rows; i++) {
        float *row = s + i * ld;
        float top = -INFINITY;
        for (size_t j = 0; j < length; j++) top = row[j] > top ? row[j] : top;
        float sum = 0;
        for (size_t j = 0; j < length; j++) {
            row[j] = expf((row[j] - top) * scale);
            sum += row[j];
        }
        for (size_t j = 0; j < length; j++) row[j] /= sum;
    }
}

double tk_fma_loop_generic(uint64_t rounds) {
    float a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float b = 1.0000001f, c = 1e-9f;
    for (uint64_t r = 0; r < rounds; r++)
        for (int i = 0; i < 8; i++) a[i] = a[i] * b + c;
    volatile float sink = a[0] + a[7];
    (void)sink;
    return (double)rounds * 8 * 2;
}

void tk_embed_tokens(const int32_t *ids, size_t count, const float *word, const float *position, const float *type,
                     size_t hidden, float *out) {
    for (size_t t = 0; t < count; t++) {
        const float *w = word + (size_t)ids[t] * hidden, *p = position + t * hidden;
        float *o = out + t * hidden;
        for (size_t c = 0; c < hidden; c++) o[c] = w[c] + p[c] + type[c];
    }
}

void tk_mean_pool_normalize(const float *x, size_t rows, size_t hidden, float *out) {
    for (size_t c = 0; c < hidden; c++) out[c] = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < hidden; c++) out[c] += x[r * hidden + c];
    // The mean's 1/rows factor cancels in the normalisation; only the direction is kept.
    double norm = 0;
    for (size_t c = 0; c < hidden; c++) norm += (double)out[c] * out[c];
    const float scale = norm > 0 ? (float)(1.0 / sqrt(norm)) : 0.0f;
    for (size_t c = 0; c < hidden; c++) out[c] *= scale;
}

uint64_t tk_fingerprint(const void *bytes, size_t count) {
    // Eight bytes at a time: FNV-style xor-multiply with a rotation, then the tail byte by byte. About 5 GB/s,
    // so the 90 MB of a MiniLM checkpoint cost ~20 ms when the model loads.
    const unsigned char *p = bytes;
    uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)count;
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < count; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 32);
}
