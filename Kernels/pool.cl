// pool.cl -- non-overlapping K x K pooling (stride K) over NHWC activations:
// [N, H, W, C] -> [N, H/K, W/K, C] (H and W multiples of K).
// max: y = max of the window; backward adds dy to the window's first maximum (row-major).
// avg: y = mean of the window; backward adds dy / K^2 to every element.
// Forward global size: (C, N*Ho*Wo). Backward gathers per input element: (C, N*H*W).

__kernel void pool_forward(const int N, const int H, const int W, const int C, const int K, const int isMax,
                           __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int c = get_global_id(0);
    const int cell = get_global_id(1);
    const int Ho = H / K, Wo = W / K;
    if (c >= C || cell >= N * Ho * Wo) return;
    const int ox = cell % Wo, oy = (cell / Wo) % Ho, n = cell / (Wo * Ho);
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
    const float g = dy[offDY + ((n * Ho + oy) * Wo + ox) * C + c];
    if (!isMax) {
        dx[offDX + pixel * C + c] += g / (float)(K * K);
        return;
    }
    // The window's first maximum in row-major order takes the gradient.
    int best = -1;
    float largest = -INFINITY;
    for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++) {
            const float v = x[offX + ((n * H + oy * K + ky) * W + ox * K + kx) * C + c];
            if (v > largest || best < 0) { largest = v; best = ky * K + kx; }
        }
    if (best == (iy - oy * K) * K + (ix - ox * K)) dx[offDX + pixel * C + c] += g;
}
