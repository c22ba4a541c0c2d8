// softmax.cl -- numerically stable softmax over each row of a row-major [rows, cols]
// matrix: y[r, c] = exp(x[r, c] - max_c x[r, :]) / sum_c exp(x[r, c] - max). x and y may
// be the same buffer. One work-item per row. Global size: rows.

__kernel void softmax_rows(const int rows, const int cols,
                           __global const float* x, const int offX,
                           __global float* y, const int offY)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    __global const float* xr = x + offX + r * cols;
    __global float* yr = y + offY + r * cols;
    float largest = xr[0];
    for (int c = 1; c < cols; c++) largest = fmax(largest, xr[c]);
    float sum = 0.0f;
    for (int c = 0; c < cols; c++) {
        const float e = exp(xr[c] - largest);
        yr[c] = e;
        sum += e;
    }
    const float inverse = 1.0f / sum;
    for (int c = 0; c < cols; c++) yr[c] *= inverse;
}

// Causal variants for attention scores [B*H*T, T] (row r attends to columns 0 ... r % T):
// softmax_causal writes zeros above the diagonal. softmax_backward sets
// dx = y * (dy - sum_c dy * y) per row (masked entries have y = 0, so dx = 0 there).
__kernel void softmax_causal(const int rows, const int T,
                             __global const float* x, const int offX,
                             __global float* y, const int offY)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    const int last = r % T;
    __global const float* xr = x + offX + r * T;
    __global float* yr = y + offY + r * T;
    float largest = xr[0];
    for (int c = 1; c <= last; c++) largest = fmax(largest, xr[c]);
    float sum = 0.0f;
    for (int c = 0; c <= last; c++) { const float e = exp(xr[c] - largest); yr[c] = e; sum += e; }
    const float inverse = 1.0f / sum;
    for (int c = 0; c <= last; c++) yr[c] *= inverse;
    for (int c = last + 1; c < T; c++) yr[c] = 0.0f;
}

__kernel void softmax_backward(const int rows, const int cols,
                               __global const float* y, const int offY,
                               __global const float* dy, const int offDY,
                               __global float* dx, const int offDX)
{
    const int r = get_global_id(0);
    if (r >= rows) return;
    float dot = 0.0f;
    for (int c = 0; c < cols; c++) dot += dy[offDY + r * cols + c] * y[offY + r * cols + c];
    for (int c = 0; c < cols; c++)
        dx[offDX + r * cols + c] = y[offY + r * cols + c] * (dy[offDY + r * cols + c] - dot);
}
