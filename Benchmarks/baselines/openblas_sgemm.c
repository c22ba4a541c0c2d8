// Baseline for `bimt bench gemm --device cpu`: OpenBLAS's cblas_sgemm called directly
// (all cores, as bimt's CPU path uses it), timed the same way: warm-up, then the median
// of R runs, row-major C = A * B.
//
// Build: cc -O2 -o openblas_sgemm openblas_sgemm.c $(pkg-config --cflags --libs openblas)
// Run:   ./openblas_sgemm [repeats] N...
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int compare(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 10;
    printf("{\"library\": \"OpenBLAS %s\", \"threads\": %d, \"results\": [", openblas_get_corename(),
           openblas_get_num_threads());
    for (int arg = 2; arg < argc; arg++) {
        int n = atoi(argv[arg]);
        float* a = malloc(sizeof(float) * n * n);
        float* b = malloc(sizeof(float) * n * n);
        float* c = malloc(sizeof(float) * n * n);
        for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
        double* times = malloc(sizeof(double) * repeats);
        for (int r = -1; r < repeats; r++) {
            double start = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            if (r >= 0) times[r] = now() - start;
        }
        qsort(times, repeats, sizeof(double), compare);
        double seconds = repeats % 2 ? times[repeats / 2] : (times[repeats / 2 - 1] + times[repeats / 2]) / 2;
        printf("%s{\"n\": %d, \"seconds\": %.6f, \"gflops\": %.2f}", arg > 2 ? ", " : "", n, seconds,
               2.0 * n * n * n / seconds / 1e9);
        free(a); free(b); free(c); free(times);
    }
    printf("]}\n");
    return 0;
}
