#ifndef CDNNL_H
#define CDNNL_H
// oneDNN's matrix product (its matmul primitive), loaded with dlopen at run time: the binary
// starts, and trains in fp32, where no oneDNN is installed. No dnnl.h is needed at build
// time: the shim declares the few calls and constants of oneDNN 2.x's C ABI itself, and
// checks them against dnnl.h where that header is installed. Calls are made from one thread.
#include <stddef.h>
#include <stdint.h>

/// Loads oneDNN 2.x (`BIMT_DNNL_LIBRARY`, else libdnnl.so.2) and creates its CPU engine and
/// stream; its OpenMP threads number `threads` and sleep between products unless
/// OMP_NUM_THREADS and OMP_WAIT_POLICY say otherwise. Returns 0, or -1 with the reason.
int bimt_dnnl_load(int threads, char *reason, size_t reasonSize);
/// "2.6.3" once loaded; "" before.
const char *bimt_dnnl_version(void);

/// One strided-batched product C[b] = alpha A[b] B[b] + beta C[b] with A [batch, m, k] and
/// B [batch, k, n] in bf16 or fp32 (both the same), C [batch, m, n] in fp32. Strides are in
/// elements (batch, row, column); a batch stride of 0 with `batchB == 1` broadcasts B.
typedef struct {
    int bf16;
    int64_t batch, batchB, m, n, k;
    int64_t strideA[3], strideB[3], strideC[3];
    float alpha, beta;
} bimt_dnnl_shape;

typedef struct bimt_dnnl_matmul bimt_dnnl_matmul;

/// A primitive for `shape` (creation is the expensive part: keep and reuse it), or NULL with
/// the reason in `reason`.
bimt_dnnl_matmul *bimt_dnnl_matmul_create(const bimt_dnnl_shape *shape, char *reason, size_t reasonSize);
/// The implementation oneDNN chose, e.g. "brg:avx512_core_bf16".
const char *bimt_dnnl_matmul_implementation(const bimt_dnnl_matmul *matmul);
/// Runs the product on these operands and waits for it. Returns 0 or oneDNN's status.
int bimt_dnnl_matmul_run(bimt_dnnl_matmul *matmul, const void *a, const void *b, float *c);
void bimt_dnnl_matmul_destroy(bimt_dnnl_matmul *matmul);

#endif
