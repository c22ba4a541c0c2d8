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

// Column sums in two passes, so that rows * cols / chunkRows work-items share the work
// rather than one per column:
//   column_sum_partial:  partial[k, c] = sum of x[r, c] over rows [k * chunkRows, (k + 1) * chunkRows)
//                        Global size: (cols, chunks).
//   column_sum_finish:   out[c] = sum_k partial[k, c] (+ out[c] when accumulate != 0), k in
//                        order, so the result does not depend on scheduling. Global size: cols.
// Neighbouring work-items read neighbouring addresses in both.
__kernel void column_sum_partial(const int rows, const int cols, const int chunkRows,
                                 __global const float* x, const int offX,
                                 __global float* partial, const int offPartial)
{
    const int c = get_global_id(0), k = get_global_id(1);
    if (c >= cols) return;
    const int end = min(rows, (k + 1) * chunkRows);
    float sum = 0.0f;
    for (int r = k * chunkRows; r < end; r++) sum += x[offX + (size_t)r * cols + c];
    partial[offPartial + (size_t)k * cols + c] = sum;
}

__kernel void column_sum_finish(const int chunks, const int cols, const int accumulate,
                                __global const float* partial, const int offPartial,
                                __global float* out, const int offOut)
{
    const int c = get_global_id(0);
    if (c >= cols) return;
    float sum = 0.0f;
    for (int k = 0; k < chunks; k++) sum += partial[offPartial + (size_t)k * cols + c];
    out[offOut + c] = accumulate ? out[offOut + c] + sum : sum;
}
