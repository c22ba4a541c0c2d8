// C twin of the causal and backward kernels of Kernels/softmax.cl.
#include "CBIMTKernels.h"
#include "vector.h"

MULTIVERSION
void bimt_softmax_causal_rows(int T, int r0, int r1, const float* x, float* y) {
    for (int r = r0; r < r1; r++) {
        const int count = r % T + 1;
        const float* xr = x + (size_t)r * T;
        float* yr = y + (size_t)r * T;
        float largest = xr[0];
        for (int c = 1; c < count; c++) largest = xr[c] > largest ? xr[c] : largest;
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= count; c += VW) { floatv e = EXPV(LOADV(xr + c) - largest); STOREV(yr + c, e); acc += e; }
        float sum = HSUM(acc);
        for (; c < count; c++) { yr[c] = expf(xr[c] - largest); sum += yr[c]; }
        const float inverse = 1.0f / sum;
        for (c = 0; c + VW <= count; c += VW) STOREV(yr + c, LOADV(yr + c) * inverse);
        for (; c < count; c++) yr[c] *= inverse;
        for (c = count; c < T; c++) yr[c] = 0.0f;
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

