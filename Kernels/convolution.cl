// convolution.cl -- the data movement of Conv2d (the arithmetic is the GEMM of gemm.cl).
//
// Activations are NHWC: x[n, y, x, c]. A convolution with a kh x kw kernel, stride s and
// zero padding p maps [N, H, W, C] to [N, Ho, Wo, O], Ho = (H + 2p - kh)/s + 1, as
//     cols = im2col(x)               [N*Ho*Wo, kh*kw*C], column (ky*kw + kx)*C + c
//     out  = cols * W^T + b          W: [O, kh*kw*C] (that is, [O, kh, kw, C])
// so column j of W belongs to input channel j % C (kernel offset j / C): the layer is the
// input channel sheet folded kh*kw times, which is how BIMT sees it.
//
// im2col global size: (kh*kw*C, N*Ho*Wo). col2im (the backward of im2col) gathers, for
// every input element, the columns that read it: dx[n, y, x, c] += sum over (ky, kx) with
// y = oy*s + ky - p, x = ox*s + kx - p. No atomics, so it does not depend on scheduling.
// col2im global size: (C, N*H*W).

__kernel void im2col(const int N, const int H, const int W, const int C, const int KH, const int KW,
                     const int stride, const int pad, const int Ho, const int Wo,
                     __global const float* x, const int offX,
                     __global float* cols, const int offCols)
{
    const int j = get_global_id(0);
    const int row = get_global_id(1);
    const int width = KH * KW * C;
    if (j >= width || row >= N * Ho * Wo) return;
    const int c = j % C, k = j / C, kx = k % KW, ky = k / KW;
    const int ox = row % Wo, oy = (row / Wo) % Ho, n = row / (Wo * Ho);
    const int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
    const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
    cols[offCols + row * width + j] = inside ? x[offX + ((n * H + iy) * W + ix) * C + c] : 0.0f;
}

__kernel void col2im(const int N, const int H, const int W, const int C, const int KH, const int KW,
                     const int stride, const int pad, const int Ho, const int Wo,
                     __global const float* cols, const int offCols,
                     __global float* dx, const int offDX)
{
    const int c = get_global_id(0);
    const int pixel = get_global_id(1);
    if (c >= C || pixel >= N * H * W) return;
    const int ix = pixel % W, iy = (pixel / W) % H, n = pixel / (W * H);
    const int width = KH * KW * C;
    float sum = 0.0f;
    for (int ky = 0; ky < KH; ky++) {
        const int ty = iy + pad - ky;
        if (ty < 0 || ty % stride != 0 || ty / stride >= Ho) continue;
        for (int kx = 0; kx < KW; kx++) {
            const int tx = ix + pad - kx;
            if (tx < 0 || tx % stride != 0 || tx / stride >= Wo) continue;
            const int row = (n * Ho + ty / stride) * Wo + tx / stride;
            sum += cols[offCols + row * width + (ky * KW + kx) * C + c];
        }
    }
    dx[offDX + pixel * C + c] += sum;
}
