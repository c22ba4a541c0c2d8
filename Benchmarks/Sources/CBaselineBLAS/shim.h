// OpenBLAS called directly: the baseline of the CPU-path GEMM benchmarks.
#include <cblas.h>
