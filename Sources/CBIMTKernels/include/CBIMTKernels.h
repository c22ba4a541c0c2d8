// CPU twins of the kernels in Kernels/ (one C file per kernel family): the same formulas,
// written with clang vector types and compiled for AVX-512, AVX2 and baseline x86-64,
// chosen at run time (a default Swift release build targets SSE2 only). Each function
// works on a range of rows so the caller can split the work over threads.
#ifndef CBIMT_KERNELS_H
#define CBIMT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

// ---- Connection cost (twin of connection_cost.cl), connection_cost.c.
/// Rows [r0, r1) of the fused connection-cost pass over W (R x Q, row-major):
///   returns sum_rq |W[r,q]| * (wf * dist(co_r, ci_q) + l0)     (unscaled)
///   and, if G is not NULL, G[r,q] += gradScale * (wf * dist + l0) * sign(W[r,q]).
/// co: R out-coordinates SoA (x[R], y[R]); ci: Q in-coordinates SoA. metric 0: L1, 1: L2.
double bimt_connection_cost_rows(int R, int Q, int r0, int r1, float wf, float l0, float gradScale, int metric,
                                 const float* W, float* G, const float* co, const float* ci);
/// sum_i |x[i]|: the L1 cost's sum (and swap_score.c's unit sums); one read of a buffer, the
/// baseline the connection-cost pass is measured against.
double bimt_abs_sum(size_t n, const float* x);

// ---- Swap scores (twin of swap_score.cl), swap_score.c.
/// Units [u0, u1) of C[u, p] (+)= wscale * sum_t sum_i |W[(u + t*m)*sJ + i*sI]| * dist(slot p, other i)
/// for p in [0, m). slots: m slot coordinates SoA; other: I coordinates SoA.
void bimt_swap_scores(int m, int I, int F, int sJ, int sI, float wscale, int metric, int accumulate,
                      int u0, int u1, const float* W, const float* slots, const float* other, float* C);

/// S[u] (+)= wscale * sum_t sum_i |W[(u + t*m)*sJ + i*sI]| for u in [0, m): unit importance.
void bimt_unit_abs_sums(int m, int I, int F, int sJ, int sI, float wscale, int accumulate,
                        const float* W, float* S);

// ---- Transformer pieces (twins of layernorm.cl and softmax.cl's causal kernels), rows [r0, r1).
/// y = (x - mean) * rstd * g + b per row; saves mean and rstd.
void bimt_layernorm_forward_rows(int cols, int r0, int r1, float eps, const float* x, const float* g, const float* b,
                                 float* y, float* mean, float* rstd);
/// dx += LayerNorm input gradient; dg += dy * xhat and db += dy summed over the rows given
/// (the caller gives each thread its own dg/db partials).
void bimt_layernorm_backward_rows(int cols, int r0, int r1, const float* x, const float* g, const float* dy,
                                  const float* mean, const float* rstd, float* dx, float* dg, float* db);
/// Row r of [rows, T] attends to columns 0 ... r % T; the rest is set to 0.
void bimt_softmax_causal_rows(int T, int r0, int r1, const float* x, float* y);
/// dx = y * (dy - sum_c dy * y) per row.
void bimt_softmax_backward_rows(int cols, int r0, int r1, const float* y, const float* dy, float* dx);


// ---- Fused causal attention (twin of attention.cl's row math): a block of `rows` query rows
// first ... first + rows - 1 of one (sequence, head), scores s[rows, ld] against keys 0 ...
// first + rows - 1. indexBase = ((sequence * heads + head) * length) * length, the dropout
// element index of the block's (0, 0) in the unfused [sequences, heads, length, length] tensor.
/// s (scaled scores) -> softmax over each row's causal prefix, then dropout (threshold 0:
/// none); lse[r] = log-sum-exp of row r; masked columns up to the block's last key set to 0.
void bimt_attention_softmax_block(int rows, int first, int ld, float* s, float* lse, uint64_t key, uint32_t threshold,
                                  float dropScale, uint64_t indexBase, int length);
/// s (scaled scores) -> dropout(P) and dp (dY V^T) -> dS = P * (dropout(dp) - dY.O) per row,
/// P = exp(s - lse); out/dout: the block's output rows and their gradients (stride ldo).
void bimt_attention_backward_block(int rows, int first, int ld, float* s, float* dp, const float* lse, const float* out,
                                   const float* dout, int ldo, int headDimension, uint64_t key, uint32_t threshold,
                                   float dropScale, uint64_t indexBase, int length);

// ---- GEMM by blocks of rows (twin of gemm.cl's gemm_vector), gemm.c.
/// C (M x N, ldc) = alpha A B + beta C; A (M x K, lda) row-major, B (K x N, ldb) row-major;
/// beta = 0 never reads C. Meant for B small enough to stay in cache.
void bimt_gemm_rows(int M, int N, int K, float alpha, float beta, const float* A, int lda, const float* B, int ldb,
                    float* C, int ldc);
/// 1 when this processor runs bimt_gemm_rows's AVX-512 version (the others spill its registers).
int bimt_gemm_rows_vectorized(void);

// ---- Convolution columns (twin of convolution.cl) over NHWC images, convolution.c.
/// Patch rows [row0, row1) of columns [N * Ho * Wo, KH * KW * C] from x [N, H, W, C].
void bimt_im2col(int H, int W, int C, int KH, int KW, int stride, int padding, int Ho, int Wo, int row0, int row1,
                 const float* x, float* columns);
/// dx [N, H, W, C] += the column gradient gathered per input pixel, pixels [pixel0, pixel1).
void bimt_col2im(int H, int W, int C, int KH, int KW, int stride, int padding, int Ho, int Wo, int pixel0, int pixel1,
                 const float* columns, float* dx);

// ---- Pooling (twin of pool.cl): output cells [cell0, cell1) of NHWC [N, H/K, W/K, C].
/// y = the max (isMax) or mean of each K x K window, per channel.
void bimt_pool_forward(int H, int W, int C, int K, int isMax, int cell0, int cell1, const float* x, float* y);
/// dx += dy at each window's first maximum per channel (isMax), or dy / K^2 everywhere;
/// scratch holds 3 C floats.
void bimt_pool_backward(int H, int W, int C, int K, int isMax, int cell0, int cell1, const float* x, const float* dy,
                        float* dx, float* scratch);
// Activation `kind` (bimt_activation_forward's codes) and pooling backward, fused, for images
// [image0, image1): dPre = f'(pre) * pool_backward(dy), overwritten; biasSum (may be NULL)
// += the per-channel sums of dPre; scratch 3 * C floats.
void bimt_pool_activation_backward(int H, int W, int C, int K, int isMax, int kind, int image0, int image1,
                                   const float* pre, const float* x, const float* dy, float* dPre, float* biasSum,
                                   float* scratch);
// Bias, activation `kind` and pooling, fused, for images [image0, image1): pre += bias (per
// channel), x = f(pre), y = pool(x); pixels past the last whole window are biased and activated.
void bimt_bias_activation_pool(int H, int W, int C, int K, int isMax, int kind, int image0, int image1,
                               const float* bias, float* pre, float* x, float* y);

// ---- Pointwise activations and softmax cross-entropy (twins of activation.cl, loss.cl),
// with a vectorized exp (range reduction + degree-6 polynomial, ~2 ulp). kind: 0 relu,
// 1 silu, 2 gelu (tanh form), 3 tanh. Backward accumulates: dx += dy * f'(x).
void bimt_activation_forward(int kind, size_t n, const float* x, float* y);
void bimt_activation_backward(int kind, size_t n, const float* x, const float* dy, float* dx);

/// Rows [r0, r1) of softmax cross-entropy over [rows, cols] logits z with float-encoded
/// labels: dz = (softmax - onehot) * scale; returns the summed row losses and adds the
/// rows whose first argmax equals the label to *hits.
double bimt_cross_entropy_rows(int cols, int r0, int r1, float scale, const float* z, const float* labels,
                               float* dz, int* hits);

// ---- Dropout (twin of dropout.cl).
/// Elements [i0, i1): y = x * scale where the mask keeps element i (the top 24 bits of
/// splitmix64(key + (i + 1) * golden) >= threshold), else 0. In place is allowed.
void bimt_dropout(int i0, int i1, uint64_t key, uint32_t threshold, float scale, const float* x, float* y);

// ---- bf16 conversion (twin of precision.cl), precision.c.
/// `rows` rows of `columns` floats, `ld` apart in x, into dense bfloat16 words in y (rows of
/// `columns`): round to nearest, ties to even; NaN stays NaN.
void bimt_bf16_from_rows(int rows, int columns, const float* x, long ld, uint16_t* y);
/// x rounded to the nearest bfloat16 (ties to even), as a float.
float bimt_bf16_round(float x);

#endif
