// attention.cl -- the row math of blocked causal self-attention. The backend computes a
// block of `rows` query rows (first ... first + rows - 1) of one head for every sequence
// at once: scores s = Q_block K^T / sqrt(hd) against the keys the block can see (0 ...
// first + rows - 1) are a batched GEMM into scratch [sequences, rows, ld]; these kernels
// turn them into probabilities (forward) or score gradients (backward), and further GEMMs
// mix the values and form dQ, dK, dV. No [length, length] matrix is kept: the forward saves
// lse_i = log sum_{j<=i} exp(s_ij) per query row, and the backward recomputes
// P_ij = exp(s_ij - lse_i).
//
//   dS_ij = P_ij (dropout(dP)_ij - D_i),  dP = dY V^T,  D_i = dY_i . Y_i
//
// Dropout of P_ij uses dropout.cl's mask at index ((sequence * heads + head) * length + i)
// * length + j, the element the unfused path drops, so both paths draw the same masks.
// One work-group of ROW_LOCAL work-items per (sequence, block row), striding over the
// columns. Global size: sequences * rows * ROW_LOCAL.

// s -> dropout(softmax) over each row's causal prefix; masked columns up to the block's
// last key set to 0; lse [sequences * heads * length].
__kernel __attribute__((reqd_work_group_size(ROW_LOCAL, 1, 1)))
void attention_softmax_block(const int rows, const int first, const int ld,
                             const int heads, const int head, const int length,
                             const uint keyLow, const uint keyHigh, const uint threshold, const float dropScale,
                             __global float* s, const int offS,
                             __global float* lse, const int offLse)
{
    __local float shared[ROW_LOCAL];
    const int gid = get_group_id(0), lid = get_local_id(0), size = ROW_LOCAL;
    const int sequence = gid / rows, i = first + gid % rows, count = i + 1;
    __global float* sr = s + offS + (size_t)gid * ld;
    const float total = group_softmax_row(sr, sr, count, shared);
    if (lid == 0) lse[offLse + (sequence * heads + head) * length + i] = total;
    if (threshold > 0) {
        const ulong key = ((ulong)keyHigh << 32) | (ulong)keyLow;
        const ulong row = ((ulong)(sequence * heads + head) * (ulong)length + (ulong)i) * (ulong)length;
        for (int c = lid; c < count; c += size)
            sr[c] = attention_keep(key, row + (ulong)c, threshold) ? sr[c] * dropScale : 0.0f;
    }
    for (int c = count + lid; c < first + rows; c += size) sr[c] = 0.0f;
}

// s (scaled scores) -> dropout(P) (for dV); dp (dY V^T) -> dS. out/dout: the attention
// output and its gradient [sequences * length, heads * hd].
__kernel __attribute__((reqd_work_group_size(ROW_LOCAL, 1, 1)))
void attention_backward_block(const int rows, const int first, const int ld,
                              const int heads, const int head, const int length, const int hd,
                              const uint keyLow, const uint keyHigh, const uint threshold, const float dropScale,
                              __global float* s, const int offS,
                              __global float* dp, const int offDP,
                              __global const float* lse, const int offLse,
                              __global const float* out, const int offOut,
                              __global const float* dout, const int offDOut)
{
    __local float shared[ROW_LOCAL];
    const int gid = get_group_id(0), lid = get_local_id(0), size = ROW_LOCAL;
    const int sequence = gid / rows, i = first + gid % rows, count = i + 1, d = heads * hd;
    __global float* sr = s + offS + (size_t)gid * ld;
    __global float* dr = dp + offDP + (size_t)gid * ld;
    const size_t position = ((size_t)sequence * length + i) * d + head * hd;
    float dot = 0.0f;
    for (int k = lid; k < hd; k += size) dot += out[offOut + position + k] * dout[offDOut + position + k];
    dot = group_sum(shared, dot, ROW_LOCAL);
    const float shift = lse[offLse + (sequence * heads + head) * length + i];
    const ulong key = ((ulong)keyHigh << 32) | (ulong)keyLow;
    const ulong row = ((ulong)(sequence * heads + head) * (ulong)length + (ulong)i) * (ulong)length;
    for (int c = lid; c < count; c += size) {
        const float p = exp(sr[c] - shift);
        const float m = threshold == 0 ? 1.0f : attention_keep(key, row + (ulong)c, threshold) ? dropScale : 0.0f;
        sr[c] = p * m;
        dr[c] = p * (dr[c] * m - dot);
    }
    for (int c = count + lid; c < first + rows; c += size) { sr[c] = 0.0f; dr[c] = 0.0f; }
}

// Column block [column, column + hd) of packed rows x [sequences * length, ld] as one
// [hd, length] matrix per sequence: y[(sequence * hd + k) * length + j] = x[(sequence *
// length + j) * ld + column + k]. A head's keys (or values) transposed once, so every block
// product reads them as a plain (not transposed) operand. Global size: (length, hd, sequences).
__kernel void attention_transpose_head(const int length, const int ld, const int column, const int hd,
                                       __global const float* x, const int offX,
                                       __global float* y, const int offY)
{
    const int j = get_global_id(0), k = get_global_id(1), sequence = get_global_id(2);
    if (j >= length || k >= hd) return;
    y[offY + ((size_t)sequence * hd + k) * length + j] = x[offX + ((size_t)sequence * length + j) * ld + column + k];
}
