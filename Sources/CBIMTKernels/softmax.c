// C twin of the causal and backward kernels of Kernels/softmax.cl.
#include "CBIMTKernels.h"
#include "vector.h"

MULTIVERSION
void bimt_softmax_causal_rows(int T, int r0, int r1, const float* x, float* y) {
    for (int r = r0; r < r1; r++) {
        const int count = r % T + 1;
        float* yr = y + (size_t)r * T;
        float largest, sum;
        SOFTMAX_ROW(x + (size_t)r * T, yr, count, largest, sum);
        for (int c = count; c < T; c++) yr[c] = 0.0f;
    }
}

MULTIVERSION
void bimt_softmax_backward_rows(int cols, int r0, int r1, const float* y, const float* dy, float* dx) {
    for (int r = r0; r < r1; r++) {
        const float* yr = y + (size_t)r * cols;
        const float* dyr = dy + (size_t)r * cols;
        float* dxr = dx + (size_t)r * cols;
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) acc += LOADV(dyr + c) * LOADV(yr + c);
        float dot = HSUM(acc);
        for (; c < cols; c++) dot += dyr[c] * yr[c];
        for (c = 0; c + VW <= cols; c += VW) STOREV(dxr + c, LOADV(yr + c) * (LOADV(dyr + c) - dot));
        for (; c < cols; c++) dxr[c] = yr[c] * (dyr[c] - dot);
    }
}

