// Baseline for `bimt bench gemm --device cpu`: OpenBLAS's cblas_sgemm called directly
// (all cores, as bimt's CPU path uses it), timed the same way, row-major C = A * B. Warm-up
// as bimt's (timing.h): one untimed run, then runs until the timings settle (windows of 3
// until a window's median is within 5 % of the previous one and 0.25 s have passed, at most
// 20 s); then the median of R runs. The warm-up runs per size go to stderr.
//
// Build: cc -O2 -o openblas_sgemm openblas_sgemm.c $(pkg-config --cflags --libs openblas)
// Run:   ./openblas_sgemm [repeats] N...
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include "timing.h"

struct product {
    int n;
    float *a, *b, *c;
};

static double timed(void* context) {
    struct product* p = context;
    double start = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->n, p->n, p->n, 1.0f, p->a, p->n, p->b, p->n, 0.0f,
                p->c, p->n);
    return now() - start;
}

int main(int argc, char** argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 10;
    if (repeats < 1) { fprintf(stderr, "repeats must be >= 1\n"); return 1; }
    printf("{\"library\": \"OpenBLAS %s\", \"threads\": %d, \"results\": [", openblas_get_corename(),
           openblas_get_num_threads());
    for (int arg = 2; arg < argc; arg++) {
        int n = atoi(argv[arg]);
        struct product p = {n, malloc(sizeof(float) * n * n), malloc(sizeof(float) * n * n),
                            malloc(sizeof(float) * n * n)};
        for (long i = 0; i < (long)n * n; i++) p.a[i] = p.b[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
        double* times = malloc(sizeof(double) * repeats);
        timed(&p);   // bimt's first run (its kernel build)
        int warmup = 1 + settle(timed, &p);
        for (int r = 0; r < repeats; r++) times[r] = timed(&p);
        double seconds = median(times, repeats);
        fprintf(stderr, "n %d: %d warm-up runs\n", n, warmup);
        printf("%s{\"n\": %d, \"seconds\": %.6f, \"gflops\": %.2f}", arg > 2 ? ", " : "", n, seconds,
               2.0 * n * n * n / seconds / 1e9);
        free(p.a); free(p.b); free(p.c); free(times);
    }
    printf("]}\n");
    return 0;
}
