// C twin of Kernels/convolution.cl: im2col and col2im over NHWC images for a K x K convolution
// ("same" or any padding, any stride). A patch row holds (ky, kx, c) with c fastest, so
// each tap is a run of C contiguous floats; taps outside the image are zeros.
#include <string.h>
#include "CBIMTKernels.h"
#include "vector.h"

// Steps (x, y, n) to the next pixel of width x height images: loops walk pixels in order
// without dividing the index out each time.
static inline void next_pixel(int* x, int* y, int* n, int width, int height) {
    if (++*x < width) return;
    *x = 0;
    if (++*y < height) return;
    *y = 0;
    ++*n;
}

// The output position whose tap lands t steps (padding included) into the input, or -1
// when none does; stride 1 needs no division.
static inline int reading_position(int t, int stride, int limit) {
    if (stride == 1) return t >= 0 && t < limit ? t : -1;
    return t >= 0 && t % stride == 0 && t / stride < limit ? t / stride : -1;
}

// Copies n floats (a run of taps: consecutive kx read consecutive pixels), VW at a time.
static inline void copy_run(float* target, const float* source, int n) {
    int i = 0;
    for (; i + VW <= n; i += VW) STOREV(target + i, LOADV(source + i));
    for (; i < n; i++) target[i] = source[i];
}

static inline void zero_run(float* target, int n) {
    int i = 0;
    for (; i + VW <= n; i += VW) STOREV(target + i, (floatv)0.0f);
    for (; i < n; i++) target[i] = 0.0f;
}

MULTIVERSION
void bimt_im2col(int H, int W, int C, int KH, int KW, int stride, int padding, int Ho, int Wo, int row0, int row1,
                 const float* x, float* columns) {
    const int width = KH * KW * C;
    int ox = row0 % Wo, oy = (row0 / Wo) % Ho, n = row0 / (Wo * Ho);
    for (int row = row0; row < row1; row++, next_pixel(&ox, &oy, &n, Wo, Ho)) {
        // The kernel row's taps kx in [first, last) fall inside the image: one contiguous run.
        const int left = ox * stride - padding;
        const int first = left < 0 ? -left : 0, last = left + KW > W ? W - left : KW;
        float* target = columns + (size_t)row * width;
        for (int ky = 0; ky < KH; ky++) {
            const int iy = oy * stride + ky - padding;
            float* patch = target + ky * KW * C;
            if (iy < 0 || iy >= H || first >= last) {
                zero_run(patch, KW * C);
                continue;
            }
            zero_run(patch, first * C);
            copy_run(patch + first * C, x + (((size_t)n * H + iy) * W + left + first) * C, (last - first) * C);
            zero_run(patch + last * C, (KW - last) * C);
        }
    }
}

MULTIVERSION
void bimt_col2im(int H, int W, int C, int KH, int KW, int stride, int padding, int Ho, int Wo, int pixel0, int pixel1,
                 const float* columns, float* dx) {
    const int width = KH * KW * C, vectorC = C - C % VW;
    const float* taps[KH * KW];
    int ix = pixel0 % W, iy = (pixel0 / W) % H, n = pixel0 / (W * H);
    for (int pixel = pixel0; pixel < pixel1; pixel++, next_pixel(&ix, &iy, &n, W, H)) {
        // The column entries that read this pixel, then their sum VW channels at a time in a register.
        int count = 0;
        for (int ky = 0; ky < KH; ky++) {
            const int oy = reading_position(iy + padding - ky, stride, Ho);
            if (oy < 0) continue;
            for (int kx = 0; kx < KW; kx++) {
                const int ox = reading_position(ix + padding - kx, stride, Wo);
                if (ox >= 0) taps[count++] = columns + (((size_t)n * Ho + oy) * Wo + ox) * width + (ky * KW + kx) * C;
            }
        }
        float* target = dx + (size_t)pixel * C;
        for (int c = 0; c < vectorC; c += VW) {
            floatv sum = LOADV(target + c);
            for (int t = 0; t < count; t++) sum += LOADV(taps[t] + c);
            STOREV(target + c, sum);
        }
        for (int c = vectorC; c < C; c++)
            for (int t = 0; t < count; t++) target[c] += taps[t][c];
    }
}
