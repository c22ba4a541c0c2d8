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
