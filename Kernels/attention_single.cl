// attention_single.cl -- single-launch fused causal self-attention, FlashAttention-style:
// every head and query block of a layer in one launch forward, two backward (see below).
// The GPU path; Kernels/attention.cl holds the blocked path (GEMMs per head and query block),
// which CPU-type devices run, and which every device keeps when these kernels cannot build
// or run there (they are a separate program for that reason).

// Single-launch fused attention: one work-group of ATT_LOCAL work-items per (query or key block
// of ATT_BLOCK rows, head, sequence), every head and block of a layer in one launch (global
// size (blocks * ATT_LOCAL, heads, sequences)). Tiles of ATT_BLOCK rows of Q, K, V and dY sit
// in local memory with an odd row stride (no bank conflicts when work-items walk the rows);
// the forward keeps a running max and sum per row (online softmax), so scores never leave
// the work-group. The backward is two launches: attention_backward_key owns a block of keys
// and sums dK and dV over the query blocks that see it; attention_backward_query owns a block
// of queries and sums dQ over the key blocks it sees (no atomics, every output written once).
// Head dimensions up to ATT_HEAD_MAX; the host uses the blocked kernels above beyond that.

#ifndef ATT_BLOCK
#error "ATT_BLOCK comes from the host (KernelConstants)"
#endif
#ifndef ATT_HEAD_MAX
#error "ATT_HEAD_MAX comes from the host (KernelConstants)"
#endif
#ifndef ATT_LOCAL
#error "ATT_LOCAL comes from the host (KernelConstants)"
#endif
#if ATT_BLOCK * ATT_BLOCK % ATT_LOCAL != 0 || ATT_LOCAL % ATT_BLOCK != 0 || ATT_LOCAL % ATT_HEAD_MAX != 0
#error "ATT_LOCAL must be a multiple of ATT_BLOCK and ATT_HEAD_MAX that divides ATT_BLOCK^2"
#endif
#define ATT_TILE (ATT_BLOCK * (ATT_HEAD_MAX + 1))
#define ATT_SLD (ATT_BLOCK + 1)
// A work-item's scores of a tile pair: entries lid + t * ATT_LOCAL of [ATT_BLOCK][ATT_BLOCK],
// all in one column (key) ATT_SCORE_COLUMN and rows ATT_SCORE_ROW(t).
#define ATT_SCORES (ATT_BLOCK * ATT_BLOCK / ATT_LOCAL)
#define ATT_SCORE_COLUMN (get_local_id(0) % ATT_BLOCK)
#define ATT_SCORE_ROW(t) ((int)get_local_id(0) / ATT_BLOCK + (t) * (ATT_LOCAL / ATT_BLOCK))
// A work-item's outputs of a [ATT_BLOCK][hd] block: entries lid + t * ATT_LOCAL of
// [ATT_BLOCK][ATT_HEAD_MAX] (columns from hd on are idle), all in one column
// ATT_VALUE_COLUMN, so that each row's value in it is loaded once for all of them.
#define ATT_VALUES (ATT_BLOCK * ATT_HEAD_MAX / ATT_LOCAL)
#define ATT_VALUE_ROW(t) ((int)get_local_id(0) / ATT_HEAD_MAX + (t) * (ATT_LOCAL / ATT_HEAD_MAX))
#define ATT_VALUE_COLUMN ((int)get_local_id(0) % ATT_HEAD_MAX)

// A tile's row stride for head dimension hd: odd, so a warp reading one column of
// consecutive rows touches distinct banks.
inline int attention_tile_ld(const int hd) { return hd % 2 == 0 ? hd + 1 : hd; }

// Rows first ... first + ATT_BLOCK - 1 of columns column ... column + hd - 1 of x (row r of
// the sequence at x[base + r * ldx]) into tile [ATT_BLOCK][ld]; rows past `length` read as 0.
inline void attention_load_tile(__local float* tile, __global const float* x, const size_t base, const int ldx,
                                const int column, const int first, const int length, const int hd)
{
    const int ld = attention_tile_ld(hd);
    for (int e = get_local_id(0); e < ATT_BLOCK * hd; e += ATT_LOCAL) {
        const int r = e / hd, c = e % hd, row = first + r;
        tile[r * ld + c] = row < length ? x[base + (size_t)row * ldx + column + c] : 0.0f;
    }
}

// The work-item's dot products a_r . b_j over hd (r = ATT_SCORE_ROW(t), j = ATT_SCORE_COLUMN):
// each b value is loaded once for all of them.
inline void attention_tile_scores(float* dots, __local const float* a, __local const float* b, const int hd)
{
    const int ld = attention_tile_ld(hd), j = ATT_SCORE_COLUMN;
    for (int t = 0; t < ATT_SCORES; t++) dots[t] = 0.0f;
    for (int c = 0; c < hd; c++) {
        const float bv = b[j * ld + c];
        for (int t = 0; t < ATT_SCORES; t++) dots[t] += a[ATT_SCORE_ROW(t) * ld + c] * bv;
    }
}

// dropout(P)'s factor for score (i, column) of the (sequence, head) plane starting at row
// `plane` of the [sequences * heads * length, length] tensor the unfused path drops.
inline float attention_drop_factor(const ulong key, const ulong plane, const int length, const int i,
                                   const int column, const uint threshold, const float dropScale)
{
    if (threshold == 0) return 1.0f;
    return attention_keep(key, (plane + (ulong)i) * (ulong)length + (ulong)column, threshold) ? dropScale : 0.0f;
}

// Per query row of the block: lse (into shift) and D = dY . Y (into dot) for the backward;
// rows past `length` get 0.
inline void attention_row_statistics(__local float* shift, __local float* dot, const int first, const int length,
                                     const int hd, const size_t rowBase, const int d, const int column,
                                     __global const float* out, __global const float* dout, __global const float* lse,
                                     const size_t lsePlane)
{
    const int lid = get_local_id(0), i = first + lid;
    if (lid >= ATT_BLOCK) return;
    float sum = 0.0f, total = 0.0f;
    if (i < length) {
        const size_t position = rowBase + (size_t)i * d + column;
        for (int c = 0; c < hd; c++) sum += out[position + c] * dout[position + c];
        total = lse[lsePlane + i];
    }
    dot[lid] = sum;
    shift[lid] = total;
}

// Y = dropout(softmax(Q K^T * scale, causal)) V and lse per row, for query block
// get_group_id(0) of head get_group_id(1) of sequence get_group_id(2).
__kernel __attribute__((reqd_work_group_size(ATT_LOCAL, 1, 1)))
void attention_forward(const int length, const int heads, const int hd, const float scale,
                       const uint keyLow, const uint keyHigh, const uint threshold, const float dropScale,
                       __global const float* qkv, const int offQKV,
                       __global float* out, const int offOut,
                       __global float* lse, const int offLse)
{
    __local float qs[ATT_TILE], kv[ATT_TILE], s[ATT_BLOCK * ATT_SLD];
    __local float rowMax[ATT_BLOCK], rowSum[ATT_BLOCK], rowScale[ATT_BLOCK];
    const int block = get_group_id(0), head = get_group_id(1), sequence = get_group_id(2), lid = get_local_id(0);
    const int d = heads * hd, ld = attention_tile_ld(hd), first = block * ATT_BLOCK;
    const size_t base = (size_t)offQKV + (size_t)sequence * length * 3 * d;
    const ulong key = ((ulong)keyHigh << 32) | (ulong)keyLow, plane = (ulong)(sequence * heads + head) * (ulong)length;
    // This work-item's output column, and the one it reads (idle columns past hd read the last).
    const int column = ATT_VALUE_COLUMN, c = min(column, hd - 1);
    attention_load_tile(qs, qkv, base, 3 * d, head * hd, first, length, hd);
    if (lid < ATT_BLOCK) { rowMax[lid] = -INFINITY; rowSum[lid] = 0.0f; }
    float acc[ATT_VALUES], dots[ATT_SCORES];
    for (int t = 0; t < ATT_VALUES; t++) acc[t] = 0.0f;
    for (int kb = 0; kb <= block; kb++) {
        const int keys = kb * ATT_BLOCK;
        barrier(CLK_LOCAL_MEM_FENCE); // the last block's readers of kv and s are done
        attention_load_tile(kv, qkv, base, 3 * d, d + head * hd, keys, length, hd);
        barrier(CLK_LOCAL_MEM_FENCE);
        attention_tile_scores(dots, qs, kv, hd);
        for (int t = 0; t < ATT_SCORES; t++) s[ATT_SCORE_ROW(t) * ATT_SLD + ATT_SCORE_COLUMN] = dots[t] * scale;
        barrier(CLK_LOCAL_MEM_FENCE);
        // The values replace the keys while the rows' statistics are updated.
        attention_load_tile(kv, qkv, base, 3 * d, 2 * d + head * hd, keys, length, hd);
        if (lid < ATT_BLOCK) {
            const int i = first + lid;
            float m = rowMax[lid], sum = 0.0f;
            for (int j = 0; j < ATT_BLOCK && keys + j <= i; j++) m = fmax(m, s[lid * ATT_SLD + j]);
            for (int j = 0; j < ATT_BLOCK; j++) {
                float p = 0.0f;
                if (keys + j <= i) {
                    p = exp(s[lid * ATT_SLD + j] - m);
                    sum += p;
                    p *= attention_drop_factor(key, plane, length, i, keys + j, threshold, dropScale);
                }
                s[lid * ATT_SLD + j] = p;
            }
            const float correction = exp(rowMax[lid] - m); // 0 on the first block (rowMax -inf)
            rowScale[lid] = correction;
            rowSum[lid] = rowSum[lid] * correction + sum;
            rowMax[lid] = m;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int t = 0; t < ATT_VALUES; t++) acc[t] *= rowScale[ATT_VALUE_ROW(t)];
        for (int j = 0; j < ATT_BLOCK; j++) {
            const float v = kv[j * ld + c];
            for (int t = 0; t < ATT_VALUES; t++) acc[t] += s[ATT_VALUE_ROW(t) * ATT_SLD + j] * v;
        }
    }
    for (int t = 0; t < ATT_VALUES; t++) {
        const int r = ATT_VALUE_ROW(t), i = first + r;
        if (column < hd && i < length)
            out[offOut + ((size_t)sequence * length + i) * d + head * hd + column] = acc[t] / rowSum[r];
    }
    if (lid < ATT_BLOCK && first + lid < length) lse[offLse + plane + first + lid] = rowMax[lid] + log(rowSum[lid]);
}

// dK and dV of key block get_group_id(0) (of head get_group_id(1), sequence get_group_id(2)),
// summed over the query blocks that see it: dV = dropout(P)^T dY, dK = dS^T Q * scale with
// dS = P (dropout(dP) - D), P recomputed from lse.
__kernel __attribute__((reqd_work_group_size(ATT_LOCAL, 1, 1)))
void attention_backward_key(const int length, const int heads, const int hd, const float scale,
                            const uint keyLow, const uint keyHigh, const uint threshold, const float dropScale,
                            __global const float* qkv, const int offQKV,
                            __global const float* out, const int offOut,
                            __global const float* dout, const int offDOut,
                            __global const float* lse, const int offLse,
                            __global float* dqkv, const int offDQKV)
{
    __local float ks[ATT_TILE], vs[ATT_TILE], qs[ATT_TILE], gs[ATT_TILE];
    __local float pm[ATT_BLOCK * ATT_SLD], ds[ATT_BLOCK * ATT_SLD], shift[ATT_BLOCK], dot[ATT_BLOCK];
    const int block = get_group_id(0), head = get_group_id(1), sequence = get_group_id(2);
    const int d = heads * hd, ld = attention_tile_ld(hd), keys = block * ATT_BLOCK, j = ATT_SCORE_COLUMN;
    const int blocks = (length + ATT_BLOCK - 1) / ATT_BLOCK;
    const size_t base = (size_t)offQKV + (size_t)sequence * length * 3 * d;
    const size_t rowBase = (size_t)sequence * length * d;
    const ulong key = ((ulong)keyHigh << 32) | (ulong)keyLow, plane = (ulong)(sequence * heads + head) * (ulong)length;
    // This work-item's output column, and the one it reads (idle columns past hd read the last).
    const int column = ATT_VALUE_COLUMN, c = min(column, hd - 1);
    attention_load_tile(ks, qkv, base, 3 * d, d + head * hd, keys, length, hd);
    attention_load_tile(vs, qkv, base, 3 * d, 2 * d + head * hd, keys, length, hd);
    float dk[ATT_VALUES], dv[ATT_VALUES], qk[ATT_SCORES], gv[ATT_SCORES];
    for (int t = 0; t < ATT_VALUES; t++) { dk[t] = 0.0f; dv[t] = 0.0f; }
    for (int qb = block; qb < blocks; qb++) {
        const int first = qb * ATT_BLOCK;
        barrier(CLK_LOCAL_MEM_FENCE); // the last block's readers of qs, gs, pm and ds are done
        attention_load_tile(qs, qkv, base, 3 * d, head * hd, first, length, hd);
        attention_load_tile(gs, dout, (size_t)offDOut + rowBase, d, head * hd, first, length, hd);
        attention_row_statistics(
            shift, dot, first, length, hd, rowBase, d, head * hd, out + offOut, dout + offDOut, lse + offLse, plane);
        barrier(CLK_LOCAL_MEM_FENCE);
        attention_tile_scores(qk, qs, ks, hd);
        attention_tile_scores(gv, gs, vs, hd);
        for (int t = 0; t < ATT_SCORES; t++) {
            const int r = ATT_SCORE_ROW(t), i = first + r;
            float p = 0.0f, g = 0.0f;
            if (keys + j <= i && i < length) {
                const float m = attention_drop_factor(key, plane, length, i, keys + j, threshold, dropScale);
                const float probability = exp(qk[t] * scale - shift[r]);
                p = probability * m;
                g = probability * (gv[t] * m - dot[r]);
            }
            pm[r * ATT_SLD + j] = p;
            ds[r * ATT_SLD + j] = g;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int r = 0; r < ATT_BLOCK; r++) {
            const float g = gs[r * ld + c], q = qs[r * ld + c];
            for (int t = 0; t < ATT_VALUES; t++) {
                dv[t] += pm[r * ATT_SLD + ATT_VALUE_ROW(t)] * g;
                dk[t] += ds[r * ATT_SLD + ATT_VALUE_ROW(t)] * q;
            }
        }
    }
    for (int t = 0; t < ATT_VALUES; t++) {
        const int row = keys + ATT_VALUE_ROW(t);
        if (column < hd && row < length) {
            const size_t position = (size_t)offDQKV + ((size_t)sequence * length + row) * 3 * d + head * hd + column;
            dqkv[position + d] = dk[t] * scale;
            dqkv[position + 2 * d] = dv[t];
        }
    }
}

// dQ of query block get_group_id(0) (of head get_group_id(1), sequence get_group_id(2)),
// summed over the key blocks it sees: dQ = dS K * scale.
__kernel __attribute__((reqd_work_group_size(ATT_LOCAL, 1, 1)))
void attention_backward_query(const int length, const int heads, const int hd, const float scale,
                              const uint keyLow, const uint keyHigh, const uint threshold, const float dropScale,
                              __global const float* qkv, const int offQKV,
                              __global const float* out, const int offOut,
                              __global const float* dout, const int offDOut,
                              __global const float* lse, const int offLse,
                              __global float* dqkv, const int offDQKV)
{
    __local float qs[ATT_TILE], gs[ATT_TILE], ks[ATT_TILE], vs[ATT_TILE];
    __local float ds[ATT_BLOCK * ATT_SLD], shift[ATT_BLOCK], dot[ATT_BLOCK];
    const int block = get_group_id(0), head = get_group_id(1), sequence = get_group_id(2);
    const int d = heads * hd, ld = attention_tile_ld(hd), first = block * ATT_BLOCK, j = ATT_SCORE_COLUMN;
    const size_t base = (size_t)offQKV + (size_t)sequence * length * 3 * d;
    const size_t rowBase = (size_t)sequence * length * d;
    const ulong key = ((ulong)keyHigh << 32) | (ulong)keyLow, plane = (ulong)(sequence * heads + head) * (ulong)length;
    // This work-item's output column, and the one it reads (idle columns past hd read the last).
    const int column = ATT_VALUE_COLUMN, c = min(column, hd - 1);
    attention_load_tile(qs, qkv, base, 3 * d, head * hd, first, length, hd);
    attention_load_tile(gs, dout, (size_t)offDOut + rowBase, d, head * hd, first, length, hd);
    attention_row_statistics(
        shift, dot, first, length, hd, rowBase, d, head * hd, out + offOut, dout + offDOut, lse + offLse, plane);
    float dq[ATT_VALUES], qk[ATT_SCORES], gv[ATT_SCORES];
    for (int t = 0; t < ATT_VALUES; t++) dq[t] = 0.0f;
    for (int kb = 0; kb <= block; kb++) {
        const int keys = kb * ATT_BLOCK;
        barrier(CLK_LOCAL_MEM_FENCE); // the tiles above, or the last block's readers of ks and ds, are done
        attention_load_tile(ks, qkv, base, 3 * d, d + head * hd, keys, length, hd);
        attention_load_tile(vs, qkv, base, 3 * d, 2 * d + head * hd, keys, length, hd);
        barrier(CLK_LOCAL_MEM_FENCE);
        attention_tile_scores(qk, qs, ks, hd);
        attention_tile_scores(gv, gs, vs, hd);
        for (int t = 0; t < ATT_SCORES; t++) {
            const int r = ATT_SCORE_ROW(t), i = first + r;
            float g = 0.0f;
            if (keys + j <= i) {
                const float m = attention_drop_factor(key, plane, length, i, keys + j, threshold, dropScale);
                g = exp(qk[t] * scale - shift[r]) * (gv[t] * m - dot[r]);
            }
            ds[r * ATT_SLD + j] = g;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int jj = 0; jj < ATT_BLOCK; jj++) {
            const float k = ks[jj * ld + c];
            for (int t = 0; t < ATT_VALUES; t++) dq[t] += ds[ATT_VALUE_ROW(t) * ATT_SLD + jj] * k;
        }
    }
    for (int t = 0; t < ATT_VALUES; t++) {
        const int i = first + ATT_VALUE_ROW(t);
        if (column < hd && i < length)
            dqkv[(size_t)offDQKV + ((size_t)sequence * length + i) * 3 * d + head * hd + column] = dq[t] * scale;
    }
}
