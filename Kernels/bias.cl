// bias.cl -- bias add and its backward (column sums) for a row-major [rows, cols] matrix.

// x[r, c] += bias[c].  Global size: (cols, rows).
__kernel void bias_add(const int rows, const int cols,
                       __global const float* bias, const int offBias,
                       __global float* x, const int offX)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c < cols && r < rows) x[offX + r * cols + c] += bias[offBias + c];
}

// out[c] = sum_r x[r, c]  (+ out[c] when accumulate != 0).  Global size: cols.
// Work-item c walks down its column; neighbouring work-items read neighbouring addresses.
__kernel void column_sum(const int rows, const int cols, const int accumulate,
                         __global const float* x, const int offX,
                         __global float* out, const int offOut)
{
    const int c = get_global_id(0);
    if (c >= cols) return;
    float sum = 0.0f;
    for (int r = 0; r < rows; r++) sum += x[offX + r * cols + c];
    out[offOut + c] = accumulate ? out[offOut + c] + sum : sum;
}
