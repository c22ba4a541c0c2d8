// C twin of Kernels/connection_cost.cl: the fused connection cost and its gradient.
#include "CBIMTKernels.h"
#include "vector.h"

static inline float distance1(float dx, float dy, int metric) {
    return metric == 0 ? fabsf(dx) + fabsf(dy) : sqrtf(dx * dx + dy * dy);
}

MULTIVERSION
double bimt_connection_cost_rows(int R, int Q, int r0, int r1, float wf, float l0, float gradScale, int metric,
                                 const float* W, float* G, const float* co, const float* ci) {
    const float* cx = ci;
    const float* cy = ci + Q;
    double total = 0;
    for (int r = r0; r < r1; r++) {
        const float ox = co[r], oy = co[R + r];
        const float* w = W + (size_t)r * Q;
        float* g = G ? G + (size_t)r * Q : 0;
        floatv acc = 0;
        int q = 0;
        for (; q + VW <= Q; q += VW) {
            floatv dx = (floatv)ox - LOADV(cx + q), dy = (floatv)oy - LOADV(cy + q);
            floatv d = metric == 0 ? ABSV(dx) + ABSV(dy) : __builtin_elementwise_sqrt(dx * dx + dy * dy);
            floatv f = (floatv)wf * d + (floatv)l0;
            floatv value = LOADV(w + q);
            acc += ABSV(value) * f;
            if (g) {
                floatv sign = __builtin_convertvector(value > 0, floatv) * -1.0f
                            - __builtin_convertvector(value < 0, floatv) * -1.0f;
                STOREV(g + q, LOADV(g + q) + (floatv)gradScale * f * sign);
            }
        }
        float sum = HSUM(acc);
        for (; q < Q; q++) {
            float f = wf * distance1(ox - cx[q], oy - cy[q], metric) + l0;
            float value = w[q];
            sum += fabsf(value) * f;
            if (g) g[q] += gradScale * f * (value > 0 ? 1.0f : (value < 0 ? -1.0f : 0.0f));
        }
        total += sum;
    }
    return total;
}


MULTIVERSION
double bimt_abs_sum(size_t n, const float* x) {
    floatv acc = 0;
    size_t i = 0;
    for (; i + VW <= n; i += VW) acc += ABSV(LOADV(x + i));
    float sum = HSUM(acc);
    for (; i < n; i++) sum += fabsf(x[i]);
    return sum;
}
