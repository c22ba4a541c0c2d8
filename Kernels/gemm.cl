// gemm.cl -- strided-batched GEMM, row-major:
//
//     C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]        b = 0 ..< batch
//
// Legend: M, N, K are the sizes of C (M x N) and the inner dimension. Element (m, k) of
// op(A) is A[offA + b*strideA + m*sAm + k*sAk]; the host turns (transpose, lda) into the
// two strides, so one kernel serves both transposes. Likewise op(B)(k, n) is
// B[offB + b*strideB + k*sBk + n*sBn]. gemm_vector reads each operand as it is (B
// row-major) or, where striding would cost more than a copy, from the panels pack_panels
// writes into scratch (the host decides).
// beta == 0 never reads C (BLAS semantics: C may hold garbage, even NaN).
//
// Two variants, chosen per device type by the host:
// - gemm_tiled: GPUs. Two levels of tiling: a work-group computes a TSM x TSN tile of C
//   through local-memory tiles of depth TSK, and each work-item a WPTM x WPTN register tile
//   (strided by the work-group's extent, so neighbouring work-items touch neighbouring
//   addresses). Global loads go GVW floats at a time along whichever dimension of the
//   operand is contiguous (k, or m / n: the host's strides say which; vloadn needs only
//   float alignment), scalar at the edges and for strided operands. With DB = 1 the local
//   tiles are double-buffered: each work-item fetches the next tile into registers while
//   the group computes on the current one, one barrier per tile. Split-K: the host may cut
//   K into `splits` ranges (global z = batch * splits + split), each writing its partial
//   product to scratch, and gemm_splitk_reduce sums them into C; it does so when the tiles
//   alone would leave most compute units idle (KSPLIT caps the splits).
//   Local size: (TSN/WPTN, TSM/WPTM, 1). gemm_tiled_bf16 is the same kernel on bf16 operands
//   (16-bit words from precision.cl's bf16_pack), widened to fp32 as each tile is fetched:
//   every device type's bf16 products, half the operand traffic, fp32 arithmetic.
// - gemm_vector: CPU-type devices (PoCL). No local memory and no barriers: each
//   work-item keeps an RM x (VW*NV) block of C in float-VW registers; per k it broadcasts
//   RM floats of A (RM rows read in order, or a panel of a transposed A) and streams VW*NV
//   contiguous floats of B (a row, or its panel packed by pack_panels). Edge blocks stay
//   vectorized (clamped rows, zero-padded columns). Global size: (ceil(N/(VW*NV)),
//   ceil(M/RM), batch).

// ---- gemm_tiled tunables -----------------------------------------------------------
#ifndef TSM   // tile rows of C per work-group
#error "TSM comes from the host (GemmTuning)"
#endif
#ifndef TSN   // tile columns of C per work-group
#error "TSN comes from the host (GemmTuning)"
#endif
#ifndef TSK   // depth of the local-memory tiles
#error "TSK comes from the host (GemmTuning)"
#endif
#ifndef WPTM   // rows of C per work-item
#error "WPTM comes from the host (GemmTuning)"
#endif
#ifndef WPTN   // columns of C per work-item
#error "WPTN comes from the host (GemmTuning)"
#endif
#ifndef GVW   // floats per global load: 1, 2, 4 or 8
#error "GVW comes from the host (GemmTuning)"
#endif
#ifndef DB   // 1: double-buffered local tiles; 0: one buffer, two barriers per tile
#error "DB comes from the host (GemmTuning)"
#endif
#ifndef LPAD   // floats of padding after each k-row of a local tile, against bank conflicts
#error "LPAD comes from the host (GemmTuning)"
#endif

#define RTSM (TSM / WPTM)   // work-group extent in M
#define RTSN (TSN / WPTN)   // work-group extent in N
#define THREADS (RTSM * RTSN)
#define LOADS_A (TSM * TSK / (GVW * THREADS))   // vector loads per work-item per tile of A
#define LOADS_B (TSN * TSK / (GVW * THREADS))
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if GVW == 1
#define LOADG(p) (*(p))
#define STOREG(v, p) (*(p) = (v))
#else
#define LOADG(p) CAT(vload, GVW)(0, p)
#define STOREG(v, p) CAT(vstore, GVW)(v, 0, p)
#endif
#define floatG CAT(float, GVW)
// bf16 operands (gemm_tiled_bf16): GVW 16-bit words, widened to the fp32 values they hold.
#if GVW == 1
#define BF16G(w) as_float((uint)(w) << 16)
#else
#define BF16G(w) CAT(as_float, GVW)(CAT(convert_uint, GVW)(w) << 16)
#endif

// Element i of an operand: an fp32, or (bf16) the fp32 value of the 16-bit word i.
inline float element(__global const float* X, const int i, const int bf16)
{
    return bf16 ? as_float((uint)((__global const ushort*)X)[i] << 16) : X[i];
}

// Fetches load l of this work-item's share of the T x TSK tile (rows t0.., depth k0..) of an
// operand X(t, k) = X[t * sT + k * sK] with `extent` rows into regs[GVW*l ...]: along k when
// sK == 1, else along t when sT == 1, else GVW scalars; zeros outside the matrix.
inline void fetch(__global const float* X, const int sT, const int sK, const int T, const int extent, const int K,
                  const int t0, const int k0, const int e, float* regs, const int bf16)
{
    int t, k, dt, dk;
    if (sK == 1 || sT != 1) { t = e / (TSK / GVW); k = (e % (TSK / GVW)) * GVW; dt = 0; dk = 1; }
    else { k = e / (T / GVW); t = (e % (T / GVW)) * GVW; dt = 1; dk = 0; }
    const int gt = t0 + t, gk = k0 + k;
    const bool contiguous = (dk == 1 && sK == 1) || (dt == 1 && sT == 1);
    if (contiguous && gt + dt * (GVW - 1) < extent && gk + dk * (GVW - 1) < K) {
        if (bf16) STOREG(BF16G(LOADG((__global const ushort*)X + gt * sT + gk * sK)), regs);
        else STOREG(LOADG(X + gt * sT + gk * sK), regs);
        return;
    }
    for (int j = 0; j < GVW; j++) {
        const int tj = gt + dt * j, kj = gk + dk * j;
        regs[j] = (tj < extent && kj < K) ? element(X, tj * sT + kj * sK, bf16) : 0.0f;
    }
}

// Stores fetched load l (see fetch) into the local tile Xsub[TSK][T + LPAD]. Without the
// padding, the k-rows of a load along k would be T floats apart, a multiple of the 32 banks:
// the work-items of a warp storing one load would hit TSK / GVW-way conflicts.
inline void place(__local float* Xsub, const int sT, const int sK, const int T, const int e, const float* regs)
{
    const int row = T + LPAD;
    if (sK == 1 || sT != 1) {
        const int t = e / (TSK / GVW), k = (e % (TSK / GVW)) * GVW;
        for (int j = 0; j < GVW; j++) Xsub[(k + j) * row + t] = regs[j];
    } else {
        const int k = e / (T / GVW), t = (e % (T / GVW)) * GVW;
        for (int j = 0; j < GVW; j++) Xsub[k * row + t + j] = regs[j];
    }
}

// The body of gemm_tiled and gemm_tiled_bf16; with bf16, A and B hold 16-bit words (offsets
// in floats, strides in words) and each tile is widened to fp32 as it is fetched.
inline void gemm_tiled_body(const int M, const int N, const int K, const float alpha, const float beta,
                            __global const float* A, const int offA, const int sAm, const int sAk, const int strideA,
                            __global const float* B, const int offB, const int sBk, const int sBn, const int strideB,
                            __global float* C, const int offC, const int ldc, const int strideC,
                            const int splits, const int kChunk, const int bf16,
                            __local float (*Asub)[TSK * (TSM + LPAD)], __local float (*Bsub)[TSK * (TSN + LPAD)])
{
    const int tn = get_local_id(0);
    const int tm = get_local_id(1);
    const int n0 = get_group_id(0) * TSN;
    const int m0 = get_group_id(1) * TSM;
    const int z = get_global_id(2), batch = z / splits, split = z % splits;
    const int kBegin = split * kChunk, kEnd = min(K, kBegin + kChunk);
    const int shiftA = batch * strideA + kBegin * sAk, shiftB = batch * strideB + kBegin * sBk;
    A = bf16 ? (__global const float*)((__global const ushort*)(A + offA) + shiftA) : A + offA + shiftA;
    B = bf16 ? (__global const float*)((__global const ushort*)(B + offB) + shiftB) : B + offB + shiftB;
    C += offC + z * strideC;   // with splits > 1, C is the scratch of partial products
    const int depth = kEnd - kBegin;

    float ra[LOADS_A][GVW], rb[LOADS_B][GVW];

    float acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++)
            acc[i][j] = 0.0f;

    const int tid = tm * RTSN + tn;
    const int tiles = (depth + TSK - 1) / TSK;
    if (tiles > 0) {
        for (int l = 0; l < LOADS_A; l++) fetch(A, sAm, sAk, TSM, M, depth, m0, 0, tid + l * THREADS, ra[l], bf16);
        for (int l = 0; l < LOADS_B; l++) fetch(B, sBn, sBk, TSN, N, depth, n0, 0, tid + l * THREADS, rb[l], bf16);
        for (int l = 0; l < LOADS_A; l++) place(Asub[0], sAm, sAk, TSM, tid + l * THREADS, ra[l]);
        for (int l = 0; l < LOADS_B; l++) place(Bsub[0], sBn, sBk, TSN, tid + l * THREADS, rb[l]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int t = 0; t < tiles; t++) {
        const int current = DB ? (t & 1) : 0;
        const bool more = t + 1 < tiles;
        if (more) {   // the next tile's global loads overlap this tile's arithmetic
            for (int l = 0; l < LOADS_A; l++)
                fetch(A, sAm, sAk, TSM, M, depth, m0, (t + 1) * TSK, tid + l * THREADS, ra[l], bf16);
            for (int l = 0; l < LOADS_B; l++)
                fetch(B, sBn, sBk, TSN, N, depth, n0, (t + 1) * TSK, tid + l * THREADS, rb[l], bf16);
        }
        __local const float* as = Asub[current];
        __local const float* bs = Bsub[current];
        for (int kk = 0; kk < TSK; kk++) {
            float b[WPTN];
            for (int j = 0; j < WPTN; j++)
                b[j] = bs[kk * (TSN + LPAD) + tn + j * RTSN];
            for (int i = 0; i < WPTM; i++) {
                const float a = as[kk * (TSM + LPAD) + tm + i * RTSM];
                for (int j = 0; j < WPTN; j++)
                    acc[i][j] = fma(a, b[j], acc[i][j]);
            }
        }
        if (more) {
            if (!DB) barrier(CLK_LOCAL_MEM_FENCE);   // one buffer: everyone has read it
            const int next = DB ? 1 - current : 0;
            for (int l = 0; l < LOADS_A; l++) place(Asub[next], sAm, sAk, TSM, tid + l * THREADS, ra[l]);
            for (int l = 0; l < LOADS_B; l++) place(Bsub[next], sBn, sBk, TSN, tid + l * THREADS, rb[l]);
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }

    for (int i = 0; i < WPTM; i++) {
        const int m = m0 + tm + i * RTSM;
        if (m >= M) continue;
        for (int j = 0; j < WPTN; j++) {
            const int n = n0 + tn + j * RTSN;
            if (n >= N) continue;
            const float prior = beta == 0.0f ? 0.0f : beta * C[m * ldc + n];
            C[m * ldc + n] = alpha * acc[i][j] + prior;
        }
    }
}

// Local tiles are declared in the kernels (OpenCL C allows __local variables only there).
__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_tiled(const int M, const int N, const int K,
                const float alpha, const float beta,
                __global const float* A, const int offA, const int sAm, const int sAk, const int strideA,
                __global const float* B, const int offB, const int sBk, const int sBn, const int strideB,
                __global float* C, const int offC, const int ldc, const int strideC,
                const int splits, const int kChunk)
{
    __local float Asub[1 + DB][TSK * (TSM + LPAD)];   // [k][m], rows padded
    __local float Bsub[1 + DB][TSK * (TSN + LPAD)];   // [k][n], rows padded
    gemm_tiled_body(M, N, K, alpha, beta, A, offA, sAm, sAk, strideA, B, offB, sBk, sBn, strideB, C, offC, ldc,
                    strideC, splits, kChunk, 0, Asub, Bsub);
}

// gemm_tiled on bf16 operands (16-bit words, as precision.cl's bf16_pack writes them; offA
// and offB in floats, the strides in words), accumulating in fp32: every OpenCL device's
// bf16 products.
__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_tiled_bf16(const int M, const int N, const int K,
                     const float alpha, const float beta,
                     __global const float* A, const int offA, const int sAm, const int sAk, const int strideA,
                     __global const float* B, const int offB, const int sBk, const int sBn, const int strideB,
                     __global float* C, const int offC, const int ldc, const int strideC,
                     const int splits, const int kChunk)
{
    __local float Asub[1 + DB][TSK * (TSM + LPAD)];
    __local float Bsub[1 + DB][TSK * (TSN + LPAD)];
    gemm_tiled_body(M, N, K, alpha, beta, A, offA, sAm, sAk, strideA, B, offB, sBk, sBn, strideB, C, offC, ldc,
                    strideC, splits, kChunk, 1, Asub, Bsub);
}

// C[b] = alpha * sum over the splits of partial[b * splits + s] + beta * C[b]; the partial
// products are packed M x N. Global size: (N, M, batch).
__kernel void gemm_splitk_reduce(const int M, const int N, const int splits, const float alpha, const float beta,
                                 __global const float* partial, const int offP,
                                 __global float* C, const int offC, const int ldc, const int strideC)
{
    const int n = get_global_id(0), m = get_global_id(1), batch = get_global_id(2);
    if (n >= N || m >= M) return;
    __global const float* p = partial + offP + (size_t)batch * splits * M * N + m * N + n;
    float sum = 0.0f;
    for (int s = 0; s < splits; s++) sum += p[(size_t)s * M * N];
    __global float* c = C + offC + batch * strideC + m * ldc + n;
    *c = alpha * sum + (beta == 0.0f ? 0.0f : beta * *c);
}

// ---- gemm_vector tunables ----------------------------------------------------------
#ifndef VW   // vector width in floats: 16 (AVX-512), 8 (AVX2)
#error "VW comes from the host (GemmTuning)"
#endif
#ifndef NV   // vectors per row of the block: the block is VW*NV columns wide
#error "NV comes from the host (GemmTuning)"
#endif
#ifndef RM   // rows of C per work-item
#error "RM comes from the host (GemmTuning)"
#endif

#define floatV CAT(float, VW)
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)
#define BW (VW * NV)

// acc[r][v] += op(A)(m0 + r, k) * bv[v] for one k, RM x NV vector FMAs.
#define GEMM_VECTOR_STEP(bv)                                              \
    _Pragma("unroll")                                                     \
    for (int r = 0; r < RM; r++) {                                        \
        const floatV ar = (floatV)(a[rowOffset[r]]);                      \
        _Pragma("unroll")                                                 \
        for (int v = 0; v < NV; v++) acc[r][v] = fma(ar, bv[v], acc[r][v]); \
    }

__kernel void gemm_vector(const int M, const int N, const int K,
                          const float alpha, const float beta,
                          __global const float* A, const int offA, const int sAm, const int sAk, const int strideA,
                          const int aPanels,
                          __global const float* B, const int offB, const int ldb, const int strideB,
                          const int bPanels,
                          __global float* C, const int offC, const int ldc, const int strideC)
{
    const int n0 = get_global_id(0) * BW;
    const int m0 = get_global_id(1) * RM;
    const int batch = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    A += offA + batch * strideA;
    C += offC + batch * strideC;

    // A is either strided (element (m, k) at m*sAm + k*sAk; rows past M repeat row M-1) or
    // packed in panels of RM rows (at (m/RM)*K*RM + k*RM + m%RM, zero-padded past M); B's
    // panel is zero-padded past N. Padding is computed, never stored.
    const int rows = min(RM, M - m0);
    const int cols = min(BW, N - n0);
    int rowOffset[RM];
    #pragma unroll
    for (int r = 0; r < RM; r++) rowOffset[r] = aPanels ? (m0 / RM) * K * RM + r : (m0 + min(r, rows - 1)) * sAm;
    const int stepA = aPanels ? RM : sAk;
    floatV acc[RM][NV];
    #pragma unroll
    for (int r = 0; r < RM; r++)
        #pragma unroll
        for (int v = 0; v < NV; v++)
            acc[r][v] = (floatV)(0.0f);
    // B: this block's panel (K steps of BW contiguous floats, zero-padded past N), or B
    // row-major with row stride ldb, read through a zero-padded copy at the right edge.
    __global const float* b = B + offB + batch * strideB + (bPanels ? (n0 / BW) * K * BW : n0);
    const int stepB = bPanels ? BW : ldb;
    __global const float* a = A;
    if (!bPanels && cols < BW) {
        for (int k = 0; k < K; k++, a += stepA, b += stepB) {
            float padded[BW];
            for (int j = 0; j < BW; j++) padded[j] = j < cols ? b[j] : 0.0f;
            floatV bv[NV];
            #pragma unroll
            for (int v = 0; v < NV; v++) bv[v] = vloadV(0, padded + v * VW);
            GEMM_VECTOR_STEP(bv)
        }
    } else {
        #pragma unroll 8
        for (int k = 0; k < K; k++, a += stepA, b += stepB) {
            floatV bv[NV];
            #pragma unroll
            for (int v = 0; v < NV; v++) bv[v] = vloadV(0, b + v * VW);
            GEMM_VECTOR_STEP(bv)
        }
    }
    for (int r = 0; r < rows; r++) {
        __global float* c = C + (m0 + r) * ldc + n0;
        #pragma unroll
        for (int v = 0; v < NV; v++) {
            floatV result = (floatV)(alpha) * acc[r][v];
            if ((v + 1) * VW <= cols) {
                if (beta != 0.0f) result = fma((floatV)(beta), vloadV(0, c + v * VW), result);
                vstoreV(result, 0, c + v * VW);
            } else {
                float out[VW];
                vstoreV(result, 0, out);
                for (int l = 0; l < VW && v * VW + l < cols; l++) {
                    const int j = v * VW + l;
                    c[j] = out[l] + (beta == 0.0f ? 0.0f : beta * c[j]);
                }
            }
        }
    }
}

// ---- panels for gemm_vector ------------------------------------------------------------
// P[b][panel][k][j] = X[b](panel * width + j, k) = X[offX + b*strideX + (panel*width + j)*sR + k*sK],
// 0 for rows past `rows`: each panel is `width` rows of X laid out as K steps of `width`
// contiguous floats, so a gemm_vector block streams A (panels of RM rows of op(A)) and B
// (panels of VW*NV columns of op(B), that is rows of op(B)^T) without striding over rows
// (a new page per step at large sizes) or edge cases. Work-item (s, panel, b) writes
// `chunk` steps of one panel, chunk * width contiguous floats, reading X along its
// contiguous dimension: each step's `width` floats when sR == 1, else each row's `chunk`
// floats. Global size: (ceil(K / chunk), panels, batch).
__kernel void pack_panels(const int K, const int rows, const int width, const int chunk,
                          __global const float* X, const int offX, const int sR, const int sK, const int strideX,
                          __global float* P, const int offP, const int strideP)
{
    const int k0 = get_global_id(0) * chunk, panel = get_global_id(1), batch = get_global_id(2);
    if (k0 >= K || panel * width >= rows) return;
    __global const float* x = X + offX + batch * strideX + panel * width * sR + k0 * sK;
    __global float* p = P + offP + batch * strideP + (panel * K + k0) * width;
    const int valid = min(width, rows - panel * width), steps = min(chunk, K - k0);
    if (sR == 1) {
        for (int k = 0; k < steps; k++, x += sK, p += width) {
            for (int j = 0; j < valid; j++) p[j] = x[j];
            for (int j = valid; j < width; j++) p[j] = 0.0f;
        }
    } else {
        for (int j = 0; j < width; j++)
            for (int k = 0; k < steps; k++)
                p[k * width + j] = j < valid ? x[j * sR + k * sK] : 0.0f;
    }
}
