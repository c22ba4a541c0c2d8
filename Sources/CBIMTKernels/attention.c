// C twin of Kernels/attention.cl's row math: fused causal attention computes its scores a
// block of query rows at a time (the GEMMs are OpenBLAS calls made by the Swift caller),
// and these functions turn a block of scores into probabilities and, in the backward pass,
// into score gradients. Nothing of size [length, length] is kept between the calls.
#include <stdint.h>
#include "CBIMTKernels.h"
#include "vector.h"

// The keep mask of dropout.cl for element `index` of a [.., length, length] probability tensor.
static inline int keep(uint64_t key, uint64_t index, uint32_t threshold) {
    uint64_t z = key + (index + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (uint32_t)(z >> 40) >= threshold;
}

MULTIVERSION
void bimt_attention_softmax_block(int rows, int first, int ld, float* s, float* lse, uint64_t key, uint32_t threshold,
                                  float dropScale, uint64_t indexBase, int length) {
    for (int r = 0; r < rows; r++) {
        const int count = first + r + 1;   // query first + r attends to keys 0 ... first + r
        float* sr = s + (size_t)r * ld;
        float largest, sum;
        SOFTMAX_ROW(sr, sr, count, largest, sum);
        lse[r] = largest + logf(sum);
        int c;
        if (threshold > 0) {
            const uint64_t row = indexBase + (uint64_t)(first + r) * (uint64_t)length;
            for (c = 0; c < count; c++) sr[c] = keep(key, row + (uint64_t)c, threshold) ? sr[c] * dropScale : 0.0f;
        }
        // Columns count ... the block's last key are masked (the block's GEMM reads them).
        for (c = count; c < first + rows; c++) sr[c] = 0.0f;
    }
}

MULTIVERSION
void bimt_attention_backward_block(int rows, int first, int ld, float* s, float* dp, const float* lse, const float* out,
                                   const float* dout, int ldo, int headDimension, uint64_t key, uint32_t threshold,
                                   float dropScale, uint64_t indexBase, int length) {
    for (int r = 0; r < rows; r++) {
        const int count = first + r + 1;
        float* sr = s + (size_t)r * ld;
        float* dr = dp + (size_t)r * ld;
        // D = sum_j P_ij dP_ij = dO_i . O_i (O mixed the values with the dropped probabilities).
        const float* o = out + (size_t)r * ldo;
        const float* g = dout + (size_t)r * ldo;
        float dot = 0.0f;
        for (int k = 0; k < headDimension; k++) dot += o[k] * g[k];
        const float shift = lse[r];
        int c = 0;
        if (threshold == 0) {
            for (; c + VW <= count; c += VW) {
                const floatv p = EXPV(LOADV(sr + c) - shift);
                STOREV(sr + c, p);
                STOREV(dr + c, p * (LOADV(dr + c) - dot));
            }
            for (; c < count; c++) {
                const float p = expf(sr[c] - shift);
                sr[c] = p;
                dr[c] = p * (dr[c] - dot);
            }
        } else {
            const uint64_t row = indexBase + (uint64_t)(first + r) * (uint64_t)length;
            for (; c < count; c++) {
                const float p = expf(sr[c] - shift);
                const float m = keep(key, row + (uint64_t)c, threshold) ? dropScale : 0.0f;
                sr[c] = p * m;                 // dropout(P): what mixed the values, for dV
                dr[c] = p * (dr[c] * m - dot); // dS = P * (dP - D), dP = dropout(dY V^T)
            }
        }
        for (c = count; c < first + rows; c++) { sr[c] = 0.0f; dr[c] = 0.0f; }
    }
}
