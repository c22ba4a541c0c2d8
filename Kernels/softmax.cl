// softmax.cl -- numerically stable softmax over each row of a row-major [rows, cols]
// matrix: y[r, c] = exp(x[r, c] - max_c x[r, :]) / sum_c exp(x[r, c] - max). x and y may
// be the same buffer. One work-group of ROW_LOCAL work-items per row, striding over its
// columns, with tree reductions for the maximum and the sum. Global size: rows * ROW_LOCAL.

__kernel __attribute__((reqd_work_group_size(ROW_LOCAL, 1, 1)))
void softmax_rows(const int rows, const int cols,
                  __global const float* x, const int offX,
                  __global float* y, const int offY)
{
    __local float scratch[ROW_LOCAL];
    const size_t r = get_group_id(0);
    group_softmax_row(x + offX + r * cols, y + offY + r * cols, cols, scratch);
}

// Causal variants for attention scores [B*H*T, T] (row r attends to columns 0 ... r % T):
// softmax_causal writes zeros above the diagonal. softmax_backward sets
// dx = y * (dy - sum_c dy * y) per row (masked entries have y = 0, so dx = 0 there).
__kernel __attribute__((reqd_work_group_size(ROW_LOCAL, 1, 1)))
void softmax_causal(const int rows, const int T,
                    __global const float* x, const int offX,
                    __global float* y, const int offY)
{
    __local float scratch[ROW_LOCAL];
    const int r = get_group_id(0), lid = get_local_id(0), count = r % T + 1;
    __global float* yr = y + offY + (size_t)r * T;
    group_softmax_row(x + offX + (size_t)r * T, yr, count, scratch);
    for (int c = count + lid; c < T; c += ROW_LOCAL) yr[c] = 0.0f;
}

__kernel __attribute__((reqd_work_group_size(ROW_LOCAL, 1, 1)))
void softmax_backward(const int rows, const int cols,
                      __global const float* y, const int offY,
                      __global const float* dy, const int offDY,
                      __global float* dx, const int offDX)
{
    __local float scratch[ROW_LOCAL];
    const int r = get_group_id(0), lid = get_local_id(0);
    const size_t row = (size_t)r * cols;
    float dot = 0.0f;
    for (int c = lid; c < cols; c += ROW_LOCAL) dot += dy[offDY + row + c] * y[offY + row + c];
    dot = group_sum(scratch, dot, ROW_LOCAL);
    for (int c = lid; c < cols; c += ROW_LOCAL) dx[offDX + row + c] = y[offY + row + c] * (dy[offDY + row + c] - dot);
}
