// matmul.cl -- strided-batched GEMM, row-major:
//
//     C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]        b = 0 ..< batch
//
// Legend: M, N, K are the sizes of C (M x N) and the inner dimension. Element (m, k) of
// op(A) is A[offA + b*strideA + m*sAm + k*sAk]; the host turns (transpose, lda) into the
// two strides, so one kernel serves both transposes. Likewise op(B)(k, n) is
// B[offB + b*strideB + k*sBk + n*sBn] in gemm_tiled. gemm_vector reads B row-major
// (sBn = 1, row stride ldb): the host transposes a B^T operand into scratch first.
// beta == 0 never reads C (BLAS semantics: C may hold garbage, even NaN).
//
// Two variants, chosen per device type by the host:
// - gemm_tiled: GPUs. A work-group computes a TSM x TSN tile of C through local-memory
//   tiles of depth TSK; each work-item computes WPTM x WPTN outputs (strided by the
//   work-group's extent, so neighbouring work-items touch neighbouring addresses).
//   Local size: (TSN/WPTN, TSM/WPTM, 1).
// - gemm_vector: CPU-type devices (PoCL). No local memory and no barriers: each
//   work-item keeps an RM x (VW*NV) block of C in float-VW registers, streams one
//   vector row of B per k and broadcasts RM scalars of A. Edge blocks stay vectorized
//   (clamped rows, zero-padded columns). Global size: (ceil(N/(VW*NV)), ceil(M/RM), batch).

// ---- gemm_tiled tunables -----------------------------------------------------------
#ifndef TSM
#define TSM 64      // tile rows of C per work-group
#endif
#ifndef TSN
#define TSN 64      // tile columns of C per work-group
#endif
#ifndef TSK
#define TSK 16      // depth of the local-memory tiles
#endif
#ifndef WPTM
#define WPTM 4      // rows of C per work-item
#endif
#ifndef WPTN
#define WPTN 4      // columns of C per work-item
#endif

#define RTSM (TSM / WPTM)   // work-group extent in M
#define RTSN (TSN / WPTN)   // work-group extent in N

__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))
void gemm_tiled(const int M, const int N, const int K,
                const float alpha, const float beta,
                __global const float* A, const int offA, const int sAm, const int sAk, const int strideA,
                __global const float* B, const int offB, const int sBk, const int sBn, const int strideB,
                __global float* C, const int offC, const int ldc, const int strideC)
{
    const int tn = get_local_id(0);
    const int tm = get_local_id(1);
    const int n0 = get_group_id(0) * TSN;
    const int m0 = get_group_id(1) * TSM;
    const int batch = get_global_id(2);
    A += offA + batch * strideA;
    B += offB + batch * strideB;
    C += offC + batch * strideC;

    __local float Asub[TSK][TSM];   // [k][m]
    __local float Bsub[TSK][TSN];   // [k][n]

    float acc[WPTM][WPTN];
    for (int i = 0; i < WPTM; i++)
        for (int j = 0; j < WPTN; j++)
            acc[i][j] = 0.0f;

    const int tid = tm * RTSN + tn;
    const int threads = RTSM * RTSN;
    for (int k0 = 0; k0 < K; k0 += TSK) {
        for (int e = tid; e < TSK * TSM; e += threads) {
            const int kk = e / TSM, mm = e % TSM;
            const int m = m0 + mm, k = k0 + kk;
            Asub[kk][mm] = (m < M && k < K) ? A[m * sAm + k * sAk] : 0.0f;
        }
        for (int e = tid; e < TSK * TSN; e += threads) {
            const int kk = e / TSN, nn = e % TSN;
            const int n = n0 + nn, k = k0 + kk;
            Bsub[kk][nn] = (n < N && k < K) ? B[k * sBk + n * sBn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TSK; kk++) {
            float b[WPTN];
            for (int j = 0; j < WPTN; j++)
                b[j] = Bsub[kk][tn + j * RTSN];
            for (int i = 0; i < WPTM; i++) {
                const float a = Asub[kk][tm + i * RTSM];
                for (int j = 0; j < WPTN; j++)
                    acc[i][j] = fma(a, b[j], acc[i][j]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
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

// ---- gemm_vector tunables ----------------------------------------------------------
#ifndef VW
#define VW 16       // vector width in floats: 16 (AVX-512), 8 (AVX2)
#endif
#ifndef NV
#define NV 2        // vectors per row of the block: the block is VW*NV columns wide
#endif
#ifndef RM
#define RM 6        // rows of C per work-item
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatV CAT(float, VW)
#define vloadV CAT(vload, VW)
#define vstoreV CAT(vstore, VW)
#define BW (VW * NV)

__kernel void gemm_vector(const int M, const int N, const int K,
                          const float alpha, const float beta,
                          __global const float* A, const int offA, const int sAm, const int sAk, const int strideA,
                          __global const float* B, const int offB, const int ldb, const int strideB,
                          __global float* C, const int offC, const int ldc, const int strideC)
{
    const int n0 = get_global_id(0) * BW;
    const int m0 = get_global_id(1) * RM;
    const int batch = get_global_id(2);
    if (n0 >= N || m0 >= M) return;
    A += offA + batch * strideA;
    B += offB + batch * strideB;
    C += offC + batch * strideC;

    // Rows past M repeat row M-1 (computed, never stored); columns past N read as zero
    // through a padded private copy, so edge blocks keep the vector FMAs.
    const int rows = min(RM, M - m0);
    const int cols = min(BW, N - n0);
    int rowOffset[RM];
    #pragma unroll
    for (int r = 0; r < RM; r++) rowOffset[r] = (m0 + min(r, rows - 1)) * sAm;
    floatV acc[RM][NV];
    #pragma unroll
    for (int r = 0; r < RM; r++)
        #pragma unroll
        for (int v = 0; v < NV; v++)
            acc[r][v] = (floatV)(0.0f);
    __global const float* b = B + n0;
    // One k step: load NV vectors of B's row from `source`, broadcast RM scalars of A.
    #define GEMM_VECTOR_STEP(source) {                                          \
        floatV bv[NV];                                                          \
        _Pragma("unroll") for (int v = 0; v < NV; v++)                          \
            bv[v] = vloadV(0, (source) + v * VW);                               \
        _Pragma("unroll") for (int r = 0; r < RM; r++) {                        \
            const floatV ar = (floatV)(A[rowOffset[r] + k * sAk]);              \
            _Pragma("unroll") for (int v = 0; v < NV; v++)                      \
                acc[r][v] = fma(ar, bv[v], acc[r][v]);                          \
        }                                                                       \
        b += ldb;                                                               \
    }
    if (cols == BW) {
        for (int k = 0; k < K; k++) GEMM_VECTOR_STEP(b)
    } else {
        float padded[BW];
        for (int k = 0; k < K; k++) {
            for (int j = 0; j < BW; j++) padded[j] = j < cols ? b[j] : 0.0f;
            GEMM_VECTOR_STEP(padded)
        }
    }
    #undef GEMM_VECTOR_STEP
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

// ---- transpose ---------------------------------------------------------------------
// dst[b][c][r] = src[b][r][c] for a rows x cols matrix with leading dimension lds;
// dst is packed (leading dimension rows). Global size: (cols, rows, batch).
__kernel void transpose(const int rows, const int cols,
                        __global const float* src, const int offS, const int lds, const int strideS,
                        __global float* dst, const int offD, const int strideD)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    const int batch = get_global_id(2);
    if (c >= cols || r >= rows) return;
    dst[offD + batch * strideD + c * rows + r] = src[offS + batch * strideS + r * lds + c];
}
