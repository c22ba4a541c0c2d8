// layernorm.cl -- LayerNorm over the last dimension of a row-major [R, C] matrix:
//
//     mean_r = sum_c x / C,  rstd_r = 1 / sqrt(sum_c (x - mean)^2 / C + eps)
//     xhat   = (x - mean_r) * rstd_r,      y = xhat * gamma + beta
//
// Forward saves mean and rstd per row. Backward (accumulating, like every backward):
//     g = dy * gamma
//     dx += rstd / C * (C g - sum_c g - xhat sum_c (g xhat))
//     dgamma += sum_r dy xhat,  dbeta += sum_r dy
// layernorm_forward / layernorm_backward_input: one work-item per row (global size R).
// The parameter gradients are column sums over the rows, in chunks (layernorm_parameters_partial).

__kernel void layernorm_forward(const int R, const int C, const float eps,
                                __global const float* x, const int offX,
                                __global const float* gamma, const int offG,
                                __global const float* beta, const int offB,
                                __global float* y, const int offY,
                                __global float* mean, const int offMean,
                                __global float* rstd, const int offRstd)
{
    const int r = get_global_id(0);
    if (r >= R) return;
    __global const float* xr = x + offX + r * C;
    float sum = 0.0f;
    for (int c = 0; c < C; c++) sum += xr[c];
    const float m = sum / (float)C;
    float var = 0.0f;
    for (int c = 0; c < C; c++) { const float d = xr[c] - m; var += d * d; }
    const float s = 1.0f / sqrt(var / (float)C + eps);
    for (int c = 0; c < C; c++) y[offY + r * C + c] = (xr[c] - m) * s * gamma[offG + c] + beta[offB + c];
    mean[offMean + r] = m;
    rstd[offRstd + r] = s;
}

__kernel void layernorm_backward_input(const int R, const int C,
                                       __global const float* x, const int offX,
                                       __global const float* gamma, const int offG,
                                       __global const float* dy, const int offDY,
                                       __global const float* mean, const int offMean,
                                       __global const float* rstd, const int offRstd,
                                       __global float* dx, const int offDX)
{
    const int r = get_global_id(0);
    if (r >= R) return;
    const float m = mean[offMean + r], s = rstd[offRstd + r];
    float sumG = 0.0f, sumGX = 0.0f;
    for (int c = 0; c < C; c++) {
        const float g = dy[offDY + r * C + c] * gamma[offG + c];
        const float xhat = (x[offX + r * C + c] - m) * s;
        sumG += g;
        sumGX += g * xhat;
    }
    for (int c = 0; c < C; c++) {
        const float g = dy[offDY + r * C + c] * gamma[offG + c];
        const float xhat = (x[offX + r * C + c] - m) * s;
        dx[offDX + r * C + c] += s / (float)C * ((float)C * g - sumG - xhat * sumGX);
    }
}

// Per chunk of chunkRows rows: partial[k, c] = sum dy xhat, partial[chunks + k, c] = sum dy
// (bias.cl's column_sum_finish adds them into dgamma and dbeta). Global size: (C, chunks).
__kernel void layernorm_parameters_partial(const int R, const int C, const int chunkRows,
                                           __global const float* x, const int offX,
                                           __global const float* dy, const int offDY,
                                           __global const float* mean, const int offMean,
                                           __global const float* rstd, const int offRstd,
                                           __global float* partial, const int offPartial)
{
    const int c = get_global_id(0), k = get_global_id(1), chunks = get_global_size(1);
    if (c >= C) return;
    const int end = min(R, (k + 1) * chunkRows);
    float sumGamma = 0.0f, sumBeta = 0.0f;
    for (int r = k * chunkRows; r < end; r++) {
        const float d = dy[offDY + (size_t)r * C + c];
        sumGamma += d * (x[offX + (size_t)r * C + c] - mean[offMean + r]) * rstd[offRstd + r];
        sumBeta += d;
    }
    partial[offPartial + (size_t)k * C + c] = sumGamma;
    partial[offPartial + (size_t)(chunks + k) * C + c] = sumBeta;
}
