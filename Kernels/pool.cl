// pool.cl -- non-overlapping K x K pooling (stride K) over NHWC activations:
// [N, H, W, C] -> [N, H/K, W/K, C], rounding down (PyTorch's floor mode): rows and columns
// past the last whole window are not read, and their gradient stays as it was.
// max: y = max of the window; backward adds dy to the window's first maximum (row-major).
// avg: y = mean of the window; backward adds dy / K^2 to every element.
// Forward global size: (C, N*Ho*Wo). Backward gathers per input element: (C, N*H*W).
// bias_activation_pool fuses the bias and activation before the pooling (the forward);
// pool_activation_backward fuses the backward of the activation before the pooling:
// dpre = f'(pre) * (the pooling backward of dy), overwritten, 0 past the last window.

// The window's first maximum (row-major) of channel c at output cell (n, oy, ox): its index ky*K + kx.
inline int window_argmax(__global const float* x, const int H, const int W, const int C, const int K,
                         const int n, const int oy, const int ox, const int c)
{
    int best = -1;
    float largest = -INFINITY;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            const float v = x[((n * H + oy * K + ky) * W + ox * K + kx) * C + c];
            if (v > largest || best < 0) { largest = v; best = ky * K + kx; }
        }
    return best;
}

// Output cell `cell` of [N, Ho, Wo] as (n, oy, ox); false past the last cell (the global
// size is rounded up to the work-group).
inline bool output_cell(const int N, const int Ho, const int Wo, const int cell, int* n, int* oy, int* ox)
{
    if (cell >= N * Ho * Wo) return false;
    *ox = cell % Wo;
    *oy = (cell / Wo) % Ho;
    *n = cell / (Wo * Ho);
    return true;
}

__kernel void pool_forward(const int N, const int H, const int W, const int C, const int K, const int isMax,
                           __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int c = get_global_id(0), cell = get_global_id(1), Ho = H / K, Wo = W / K;
    int n, oy, ox;
    if (c >= C || !output_cell(N, Ho, Wo, cell, &n, &oy, &ox)) return;
    float result = isMax ? -INFINITY : 0.0f;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            const float v = x[offX + ((n * H + oy * K + ky) * W + ox * K + kx) * C + c];
            result = isMax ? fmax(result, v) : result + v;
        }
    y[offY + cell * C + c] = isMax ? result : result / (float)(K * K);
}

__kernel void pool_backward(const int N, const int H, const int W, const int C, const int K, const int isMax,
                            __global const float* x, const int offX,
                            __global const float* dy, const int offDY,
                            __global float* dx, const int offDX)
{
    const int c = get_global_id(0);
    const int pixel = get_global_id(1);
    if (c >= C || pixel >= N * H * W) return;
    const int ix = pixel % W, iy = (pixel / W) % H, n = pixel / (W * H);
    const int Ho = H / K, Wo = W / K, oy = iy / K, ox = ix / K;
    if (oy >= Ho || ox >= Wo) return;
    const float g = dy[offDY + ((n * Ho + oy) * Wo + ox) * C + c];
    if (!isMax) {
        dx[offDX + pixel * C + c] += g / (float)(K * K);
        return;
    }
    // The window's first maximum in row-major order takes the gradient.
    if (window_argmax(x + offX, H, W, C, K, n, oy, ox, c) == (iy - oy * K) * K + (ix - ox * K))
        dx[offDX + pixel * C + c] += g;
}

__kernel void pool_activation_backward(const int N, const int H, const int W, const int C, const int K, const int isMax,
                                       const int kind,
                                       __global const float* pre, const int offPre,
                                       __global const float* x, const int offX,
                                       __global const float* dy, const int offDY,
                                       __global float* dpre, const int offDPre)
{
    const int c = get_global_id(0);
    const int pixel = get_global_id(1);
    if (c >= C || pixel >= N * H * W) return;
    const int ix = pixel % W, iy = (pixel / W) % H, n = pixel / (W * H);
    const int Ho = H / K, Wo = W / K, oy = iy / K, ox = ix / K;
    float g = 0.0f;
    if (oy < Ho && ox < Wo) {
        g = dy[offDY + ((n * Ho + oy) * Wo + ox) * C + c];
        if (!isMax) g /= (float)(K * K);
        else if (window_argmax(x + offX, H, W, C, K, n, oy, ox, c) != (iy - oy * K) * K + (ix - ox * K)) g = 0.0f;
    }
    dpre[offDPre + pixel * C + c] = g * activation_derivative(kind, pre[offPre + pixel * C + c]);
}

// Bias, activation and pooling, fused: pre += bias[c], x = f(pre), y = pool(x). One work-item
// per (channel, output cell); a cell in the last row or column of cells also biases and
// activates the pixels past the last whole window (not pooled). Global size: (C, N*Ho*Wo).
__kernel void bias_activation_pool(const int N, const int H, const int W, const int C, const int K, const int isMax,
                                   const int kind,
                                   __global const float* bias, const int offBias,
                                   __global float* pre, const int offPre,
                                   __global float* x, const int offX,
                                   __global float* y, const int offY)
{
    const int c = get_global_id(0), cell = get_global_id(1), Ho = H / K, Wo = W / K;
    int n, oy, ox;
    if (c >= C || !output_cell(N, Ho, Wo, cell, &n, &oy, &ox)) return;
    const int y1 = oy == Ho - 1 ? H : oy * K + K, x1 = ox == Wo - 1 ? W : ox * K + K;
    const float b = bias[offBias + c];
    float result = isMax ? -INFINITY : 0.0f;
    for (int iy = oy * K; iy < y1; iy++)
        for (int ix = ox * K; ix < x1; ix++) {
            const int p = ((n * H + iy) * W + ix) * C + c;
            const float z = pre[offPre + p] + b, a = activation_value(kind, z);
            pre[offPre + p] = z;
            x[offX + p] = a;
            if (iy < oy * K + K && ix < ox * K + K) result = isMax ? fmax(result, a) : result + a;
        }
    y[offY + cell * C + c] = isMax ? result : result / (float)(K * K);
}
