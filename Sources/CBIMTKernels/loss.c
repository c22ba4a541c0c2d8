// C twin of Kernels/loss.cl: softmax cross-entropy rows.
#include "CBIMTKernels.h"
#include "vector.h"

MULTIVERSION
double bimt_cross_entropy_rows(int cols, int r0, int r1, float scale, const float* z, const float* labels,
                               float* dz, int* hits) {
    double total = 0;
    for (int r = r0; r < r1; r++) {
        const float* zr = z + (size_t)r * cols;
        float* dr = dz + (size_t)r * cols;
        const int label = (int)labels[r];
        float largest = zr[0];
        int best = 0;
        for (int c = 1; c < cols; c++) if (zr[c] > largest) { largest = zr[c]; best = c; }
        // exp(z - max) into dr, summed.
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) {
            floatv e = EXPV(LOADV(zr + c) - largest);
            STOREV(dr + c, e);
            acc += e;
        }
        float sum = HSUM(acc);
        for (; c < cols; c++) { dr[c] = expf(zr[c] - largest); sum += dr[c]; }
        const float inverse = scale / sum;
        for (c = 0; c + VW <= cols; c += VW) STOREV(dr + c, LOADV(dr + c) * inverse);
        for (; c < cols; c++) dr[c] *= inverse;
        dr[label] -= scale;
        total += (double)(logf(sum) + largest - zr[label]);
        if (best == label) *hits += 1;
    }
    return total;
}
