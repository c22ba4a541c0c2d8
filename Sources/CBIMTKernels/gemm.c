// C twin of Kernels/gemm.cl's gemm_vector, for the CPU path: C = alpha A B + beta C with
// A (M x K) read by rows as it is and B (K x N) row-major, the shape of products whose B is
// small next to A (a convolution's columns times its weights, a batch times a layer's
// weights). Each 6-row x 64-column block of C keeps its 24 accumulators in vector
// registers while k runs over all of K; per k it broadcasts 6 floats of A and loads 64
// contiguous floats of B. Blocks narrow to 32, 16 and then scalar columns at the right edge.
// Unlike OpenBLAS it packs neither operand and never clears C first when beta = 0 (C is
// written once); the caller keeps B small enough to stay in cache.
#include "vector.h"

#define GEMM_ROWS 6

// One block of `rows` (<= 6) rows of C from row pointers a_[6] (rows past `rows` repeat the
// last), NV_ vectors of columns from column j0.
#define GEMM_BLOCK(NV_) do { \
    floatv acc_[GEMM_ROWS][NV_]; \
    for (int ri_ = 0; ri_ < GEMM_ROWS; ri_++) for (int vi_ = 0; vi_ < NV_; vi_++) acc_[ri_][vi_] = (floatv)0.0f; \
    const float* b_ = B + j0; \
    for (int k_ = 0; k_ < K; k_++, b_ += ldb) { \
        floatv bv_[NV_]; \
        for (int vi_ = 0; vi_ < NV_; vi_++) bv_[vi_] = LOADV(b_ + vi_ * VW); \
        for (int ri_ = 0; ri_ < GEMM_ROWS; ri_++) { \
            const floatv ar_ = (floatv)a_[ri_][k_]; \
            for (int vi_ = 0; vi_ < NV_; vi_++) \
                acc_[ri_][vi_] = __builtin_elementwise_fma(ar_, bv_[vi_], acc_[ri_][vi_]); \
        } \
    } \
    for (int ri_ = 0; ri_ < rows; ri_++) { \
        float* c_ = C + (size_t)(i0 + ri_) * ldc + j0; \
        for (int vi_ = 0; vi_ < NV_; vi_++) { \
            floatv out_ = alpha * acc_[ri_][vi_]; \
            if (beta != 0.0f) out_ = __builtin_elementwise_fma((floatv)beta, LOADV(c_ + vi_ * VW), out_); \
            STOREV(c_ + vi_ * VW, out_); \
        } \
    } \
} while (0)

MULTIVERSION
void bimt_gemm_rows(int M, int N, int K, float alpha, float beta, const float* A, int lda, const float* B, int ldb,
                    float* C, int ldc) {
    for (int i0 = 0; i0 < M; i0 += GEMM_ROWS) {
        const int rows = M - i0 < GEMM_ROWS ? M - i0 : GEMM_ROWS;
        const float* a_[GEMM_ROWS];
        for (int r = 0; r < GEMM_ROWS; r++) a_[r] = A + (size_t)(i0 + (r < rows ? r : rows - 1)) * lda;
        int j0 = 0;
        for (; j0 + 4 * VW <= N; j0 += 4 * VW) GEMM_BLOCK(4);
        if (j0 + 2 * VW <= N) { GEMM_BLOCK(2); j0 += 2 * VW; }
        if (j0 + VW <= N) { GEMM_BLOCK(1); j0 += VW; }
        // The last N % 16 columns, one at a time.
        for (; j0 < N; j0++) {
            for (int r = 0; r < rows; r++) {
                float sum = 0.0f;
                for (int k = 0; k < K; k++) sum = fmaf(a_[r][k], B[(size_t)k * ldb + j0], sum);
                float* c = C + (size_t)(i0 + r) * ldc + j0;
                *c = alpha * sum + (beta != 0.0f ? beta * *c : 0.0f);
            }
        }
    }
}

int bimt_gemm_rows_vectorized(void) {
#if defined(__x86_64__) && defined(__clang__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}
