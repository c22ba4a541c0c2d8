// Timing shared by the C baselines, the same as `bimt bench gemm`'s (GemmBenchmark.run in
// Sources/BIMTCompute/GemmBenchmark.swift): one untimed run (bimt's kernel build), then the
// warm-up of Warmup.settle, then the median of the timed runs.
#ifndef BIMT_BASELINE_TIMING_H
#define BIMT_BASELINE_TIMING_H

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

/// The median of count > 0 values (sorts them).
static double median(double* values, int count) {
    qsort(values, count, sizeof(double), compare);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/// bimt's Warmup.settle with its defaults: windows of 3 runs of `run` (each returns its
/// seconds) until a window's median is within 5 % of the previous window's and 0.25 s have
/// passed, or until 20 s have. Returns the number of runs.
static int settle(double (*run)(void* context), void* context) {
    double start = now(), previous = -1;
    int runs = 0;
    for (;;) {
        double window[3];
        for (int i = 0; i < 3; i++, runs++) window[i] = run(context);
        double current = median(window, 3), elapsed = now() - start;
        double change = current > previous ? current - previous : previous - current;
        if (previous >= 0 && change <= 0.05 * previous && elapsed >= 0.25) return runs;
        if (elapsed >= 20) return runs;
        previous = current;
    }
}

#endif
