// conv.cl -- the data movement of Conv2d (the arithmetic is the GEMM of matmul.cl).
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
// col2im global size: (C, N*H*W). conv_direct_* compute small-patch convolutions without columns.

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

// The direct convolution, for patches too small for im2col + GEMM to pay (a first layer's
// 3x3 kernel over 1 or 3 channels): each work-item reads its patch from the image.
// Input value j of output pixel `row`'s patch (j = (ky*kw + kx)*C + c), 0 outside the image.
inline float patch_value(__global const float* x, const int H, const int W, const int C, const int KW, const int stride,
                         const int pad, const int Ho, const int Wo, const int row, const int j)
{
    const int c = j % C, k = j / C, kx = k % KW, ky = k / KW;
    const int ox = row % Wo, oy = (row / Wo) % Ho, n = row / (Wo * Ho);
    const int iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
    return iy >= 0 && iy < H && ix >= 0 && ix < W ? x[((n * H + iy) * W + ix) * C + c] : 0.0f;
}

// y[row, o] = sum_j patch(row)[j] * w[o, j]. Global size: (O, N*Ho*Wo).
__kernel void conv_direct_forward(const int N, const int H, const int W, const int C, const int KH, const int KW,
                                  const int stride, const int pad, const int Ho, const int Wo, const int O,
                                  __global const float* x, const int offX,
                                  __global const float* w, const int offW,
                                  __global float* y, const int offY)
{
    const int o = get_global_id(0);
    const int row = get_global_id(1);
    if (o >= O || row >= N * Ho * Wo) return;
    const int size = KH * KW * C;
    float sum = 0.0f;
    for (int j = 0; j < size; j++) sum += patch_value(x + offX, H, W, C, KW, stride, pad, Ho, Wo, row, j) * w[offW + o * size + j];
    y[offY + row * O + o] = sum;
}

// The weight gradient's partial sums: partial[k, o*size + j] = sum of dy[row, o] * patch(row)[j]
// over rows [k * chunkRows, (k + 1) * chunkRows); bias.cl's column_sum_finish adds the chunks
// in order. Global size: (O * size, chunks).
__kernel void conv_direct_weight_gradient_partial(const int N, const int H, const int W, const int C, const int KH, const int KW,
                                                  const int stride, const int pad, const int Ho, const int Wo, const int O,
                                                  const int chunkRows,
                                                  __global const float* x, const int offX,
                                                  __global const float* dy, const int offDY,
                                                  __global float* partial, const int offPartial)
{
    const int entry = get_global_id(0);
    const int k = get_global_id(1);
    const int size = KH * KW * C;
    if (entry >= O * size) return;
    const int o = entry / size, j = entry % size;
    const int end = min(N * Ho * Wo, (k + 1) * chunkRows);
    float sum = 0.0f;
    for (int row = k * chunkRows; row < end; row++)
        sum += dy[offDY + row * O + o] * patch_value(x + offX, H, W, C, KW, stride, pad, Ho, Wo, row, j);
    partial[offPartial + (size_t)k * O * size + entry] = sum;
}
