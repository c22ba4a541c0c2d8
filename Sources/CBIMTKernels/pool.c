// C twin of Kernels/pool.cl: non-overlapping K x K pooling over NHWC activations, output
// cells [cell0, cell1) of [N, H/K, W/K, C] (rounded down, as in pool.cl). Channels are contiguous, so every loop runs
// over a pixel's channels and vectorizes; the max backward finds each channel's first
// maximum (row-major) without branches.
#include "CBIMTKernels.h"
#include "vector.h"

#define PIXEL(n, y, x) ((((size_t)(n) * H + (y)) * W + (x)) * C)

MULTIVERSION
void bimt_pool_forward(int H, int W, int C, int K, int isMax, int cell0, int cell1, const float* x, float* y) {
    const int Ho = H / K, Wo = W / K;
    const float scale = 1.0f / (float)(K * K);
    for (int cell = cell0; cell < cell1; cell++) {
        const int ox = cell % Wo, oy = (cell / Wo) % Ho, n = cell / (Wo * Ho);
        float* out = y + (size_t)cell * C;
        const float* first = x + PIXEL(n, oy * K, ox * K);
        for (int c = 0; c < C; c++) out[c] = first[c];
        for (int w = 1; w < K * K; w++) {
            const float* v = x + PIXEL(n, oy * K + w / K, ox * K + w % K);
            if (isMax) for (int c = 0; c < C; c++) out[c] = v[c] > out[c] ? v[c] : out[c];
            else for (int c = 0; c < C; c++) out[c] += v[c];
        }
        if (!isMax) for (int c = 0; c < C; c++) out[c] *= scale;
    }
}

// Max pooling's backward, one window at a time, for channels [c0, C): window_maxima sets
// each channel's maximum over the window at (n, oy, ox) and opens every channel;
// window_share then gives, for the window's pixels in row-major order, dy to each channel's
// first maximum and 0 elsewhere.
static inline void window_maxima(int H, int W, int C, int K, int c0, int n, int oy, int ox, const float* x,
                                 float* largest, float* open) {
    const float* first = x + PIXEL(n, oy * K, ox * K);
    for (int c = c0; c < C; c++) { largest[c] = first[c]; open[c] = 1.0f; }
    for (int w = 1; w < K * K; w++) {
        const float* v = x + PIXEL(n, oy * K + w / K, ox * K + w % K);
        for (int c = c0; c < C; c++) largest[c] = v[c] > largest[c] ? v[c] : largest[c];
    }
}

// The pooling gradient of one window pixel (x values v) into g: max (the first maximum per
// channel takes dy; `open` remembers which have) or average (dy * scale).
static inline void window_share(int isMax, int C, int c0, float scale, const float* v, const float* dy,
                                const float* largest, float* open, float* g) {
    if (!isMax) {
        for (int c = c0; c < C; c++) g[c] = dy[c] * scale;
        return;
    }
    for (int c = c0; c < C; c++) {
        const float hit = (v[c] == largest[c]) ? open[c] : 0.0f;
        g[c] = hit * dy[c];
        open[c] -= hit;
    }
}

MULTIVERSION
void bimt_pool_backward(int H, int W, int C, int K, int isMax, int cell0, int cell1, const float* x, const float* dy,
                        float* dx, float* scratch) {
    const int Ho = H / K, Wo = W / K;
    const float scale = 1.0f / (float)(K * K);
    float* largest = scratch;
    float* open = scratch + C;    // 1 until the channel's first maximum has taken the gradient
    float* g = scratch + 2 * C;   // one pixel's share
    for (int cell = cell0; cell < cell1; cell++) {
        const int ox = cell % Wo, oy = (cell / Wo) % Ho, n = cell / (Wo * Ho);
        if (isMax) window_maxima(H, W, C, K, 0, n, oy, ox, x, largest, open);
        for (int w = 0; w < K * K; w++) {
            const size_t p = PIXEL(n, oy * K + w / K, ox * K + w % K);
            window_share(isMax, C, 0, scale, x + p, dy + (size_t)cell * C, largest, open, g);
            for (int c = 0; c < C; c++) dx[p + c] += g[c];
        }
    }
}

// The backward of activation `kind` then K x K pooling, fused: for images [image0, image1),
// dPre = f'(pre) * (the pooling backward of dy), every element written (overwritten, not
// added to), rows and columns past the last whole window set to 0. x = f(pre) is the
// pooling's input. Each window is done VW channels at a time with its maxima and "not yet
// taken" mask in registers (one read of x for the maxima, one for the shares); ReLU's
// derivative comes from x (f(pre) > 0 exactly where pre > 0), so pre is not read for it.
// Channels past the last whole vector go through the scalar helpers above. When biasSum is
// not NULL, each channel's sum of dPre over the images is added to it (the bias gradient).
// scratch: 3 * C floats.
MULTIVERSION
void bimt_pool_activation_backward(int H, int W, int C, int K, int isMax, int kind, int image0, int image1,
                                   const float* pre, const float* x, const float* dy, float* dPre, float* biasSum,
                                   float* scratch) {
    typedef int intv __attribute__((ext_vector_type(VW)));
    const int Ho = H / K, Wo = W / K, vectorC = C - C % VW;
    const float scale = 1.0f / (float)(K * K);
    float* largest = scratch;
    float* open = scratch + C;
    float* g = scratch + 2 * C;
    for (int n = image0; n < image1; n++) {
        for (int y = 0; y < H; y++)
            for (int xx = (y < Ho * K ? Wo * K : 0); xx < W; xx++)
                for (int c = 0; c < C; c++) dPre[PIXEL(n, y, xx) + c] = 0.0f;
        for (int oy = 0; oy < Ho; oy++) {
            for (int ox = 0; ox < Wo; ox++) {
                const float* gy = dy + (((size_t)n * Ho + oy) * Wo + ox) * C;
                const size_t corner = PIXEL(n, oy * K, ox * K), row = (size_t)W * C;
                for (int c = 0; c < vectorC; c += VW) {
                    const floatv share = LOADV(gy + c) * (isMax ? 1.0f : scale);
                    floatv total = 0.0f;
                    floatv top = LOADV(x + corner + c);
                    if (isMax)
                        for (int w = 1; w < K * K; w++)
                            top = __builtin_elementwise_max(top, LOADV(x + corner + (w / K) * row + (w % K) * C + c));
                    intv untaken = (intv)-1;
                    for (int w = 0; w < K * K; w++) {
                        const size_t p = corner + (w / K) * row + (w % K) * C + c;
                        const floatv v = LOADV(x + p);
                        floatv d;
                        if (kind == 0) d = __builtin_convertvector(v > 0, floatv) * -1.0f;
                        else d = ACTIVATION_DERIVATIVE(kind, LOADV(pre + p));
                        floatv gv = share;
                        if (isMax) {
                            const intv hit = (v == top) & untaken;
                            untaken &= ~hit;
                            intv bits;
                            __builtin_memcpy(&bits, &gv, sizeof bits);
                            bits &= hit;
                            __builtin_memcpy(&gv, &bits, sizeof gv);
                        }
                        STOREV(dPre + p, gv * d);
                        total += gv * d;
                    }
                    if (biasSum) STOREV(biasSum + c, LOADV(biasSum + c) + total);
                }
                if (vectorC == C) continue;
                if (isMax) window_maxima(H, W, C, K, vectorC, n, oy, ox, x, largest, open);
                for (int w = 0; w < K * K; w++) {
                    const size_t p = PIXEL(n, oy * K + w / K, ox * K + w % K);
                    window_share(isMax, C, vectorC, scale, x + p, gy, largest, open, g);
                    for (int c = vectorC; c < C; c++) {
                        dPre[p + c] = g[c] * activation_derivative(kind, pre[p + c]);
                        if (biasSum) biasSum[c] += dPre[p + c];
                    }
                }
            }
        }
    }
}

// Bias, activation `kind` and K x K pooling, fused, for images [image0, image1): pre += bias
// (per channel), x = f(pre), y = the pooling of x. Each output cell owns its window and, in
// the last row and column of cells, the pixels past the last whole window (biased and
// activated, not pooled), so every pixel is written once. VW channels at a time, the rest
// one by one. x may be pre (the activation in place).
MULTIVERSION
void bimt_bias_activation_pool(int H, int W, int C, int K, int isMax, int kind, int image0, int image1,
                               const float* bias, float* pre, float* x, float* y) {
    const int Ho = H / K, Wo = W / K, vectorC = C - C % VW;
    const float scale = 1.0f / (float)(K * K);
    for (int n = image0; n < image1; n++) {
        for (int oy = 0; oy < Ho; oy++) {
            const int y1 = oy == Ho - 1 ? H : oy * K + K;
            for (int ox = 0; ox < Wo; ox++) {
                const int x1 = ox == Wo - 1 ? W : ox * K + K;
                float* out = y + (((size_t)n * Ho + oy) * Wo + ox) * C;
                for (int c = 0; c < vectorC; c += VW) {
                    const floatv b = LOADV(bias + c);
                    floatv pooled = isMax ? (floatv)-INFINITY : (floatv)0.0f;
                    for (int iy = oy * K; iy < y1; iy++)
                        for (int ix = ox * K; ix < x1; ix++) {
                            const size_t p = PIXEL(n, iy, ix) + c;
                            const floatv z = LOADV(pre + p) + b, a = ACTIVATION(kind, z);
                            if (pre != x) STOREV(pre + p, z);
                            STOREV(x + p, a);
                            if (iy < oy * K + K && ix < ox * K + K)
                                pooled = isMax ? __builtin_elementwise_max(pooled, a) : pooled + a;
                        }
                    STOREV(out + c, isMax ? pooled : pooled * scale);
                }
                for (int c = vectorC; c < C; c++) {
                    float pooled = isMax ? -INFINITY : 0.0f;
                    for (int iy = oy * K; iy < y1; iy++)
                        for (int ix = ox * K; ix < x1; ix++) {
                            const size_t p = PIXEL(n, iy, ix) + c;
                            const float z = pre[p] + bias[c], a = activation_value(kind, z);
                            if (pre != x) pre[p] = z;
                            x[p] = a;
                            if (iy < oy * K + K && ix < ox * K + K)
                                pooled = isMax ? (a > pooled ? a : pooled) : pooled + a;
                        }
                    out[c] = isMax ? pooled : pooled * scale;
                }
            }
        }
    }
}
