// C twin of Kernels/conv.cl: im2col and col2im over NHWC images for a K x K convolution
// ("same" or any padding, any stride). A patch row holds (ky, kx, c) with c fastest, so
// each tap is a run of C contiguous floats; taps outside the image are zeros.
#include <string.h>
#include "CBIMTKernels.h"
#include "vector.h"

MULTIVERSION
void bimt_im2col(int H, int W, int C, int KH, int KW, int stride, int padding, int Ho, int Wo, int row0, int row1,
                 const float* x, float* columns) {
    const int width = KH * KW * C;
    for (int row = row0; row < row1; row++) {
        const int ox = row % Wo, oy = (row / Wo) % Ho, n = row / (Wo * Ho);
        float* target = columns + (size_t)row * width;
        for (int ky = 0; ky < KH; ky++) {
            const int iy = oy * stride + ky - padding;
            for (int kx = 0; kx < KW; kx++) {
                const int ix = ox * stride + kx - padding;
                float* patch = target + (ky * KW + kx) * C;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
                    const float* source = x + (((size_t)n * H + iy) * W + ix) * C;
                    for (int c = 0; c < C; c++) patch[c] = source[c];
                } else {
                    for (int c = 0; c < C; c++) patch[c] = 0.0f;
                }
            }
        }
    }
}

MULTIVERSION
void bimt_col2im(int H, int W, int C, int KH, int KW, int stride, int padding, int Ho, int Wo, int pixel0, int pixel1,
                 const float* columns, float* dx) {
    const int width = KH * KW * C;
    for (int pixel = pixel0; pixel < pixel1; pixel++) {
        const int ix = pixel % W, iy = (pixel / W) % H, n = pixel / (W * H);
        float* target = dx + (size_t)pixel * C;
        for (int ky = 0; ky < KH; ky++) {
            const int ty = iy + padding - ky;
            if (ty < 0 || ty % stride != 0 || ty / stride >= Ho) continue;
            for (int kx = 0; kx < KW; kx++) {
                const int tx = ix + padding - kx;
                if (tx < 0 || tx % stride != 0 || tx / stride >= Wo) continue;
                const float* source = columns + (((size_t)n * Ho + ty / stride) * Wo + tx / stride) * width + (ky * KW + kx) * C;
                for (int c = 0; c < C; c++) target[c] += source[c];
            }
        }
    }
}
