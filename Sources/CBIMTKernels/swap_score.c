// C twin of Kernels/swap_score.cl: batched swap scores and unit importances.
#include "CBIMTKernels.h"
#include "vector.h"

MULTIVERSION
void bimt_swap_scores(int m, int I, int F, int sJ, int sI, float wscale, int metric, int accumulate,
                      int u0, int u1, const float* W, const float* slots, const float* other, float* C) {
    const float* px = slots;
    const float* py = slots + m;
    const float* ox = other;
    const float* oy = other + I;
    // Register block: RU units x VW slots; the distance vector for (slots p..p+VW, neuron i)
    // is computed once and reused by the RU units.
    enum { RU = 8 };
    for (int ub = u0; ub < u1; ub += RU) {
        const int units = ub + RU <= u1 ? RU : u1 - ub;
        for (int p = 0; p < m; p += VW) {
            const int width = p + VW <= m ? VW : m - p;
            floatv sx = 0, sy = 0;
            for (int l = 0; l < width; l++) { sx[l] = px[p + l]; sy[l] = py[p + l]; }
            floatv acc[RU];
            for (int a = 0; a < RU; a++) acc[a] = 0;
            for (int t = 0; t < F; t++) {
                for (int i = 0; i < I; i++) {
                    floatv dx = sx - (floatv)ox[i], dy = sy - (floatv)oy[i];
                    floatv d = metric == 0 ? ABSV(dx) + ABSV(dy) : __builtin_elementwise_sqrt(dx * dx + dy * dy);
                    const float* w = W + (size_t)(ub + t * m) * sJ + (size_t)i * sI;
                    for (int a = 0; a < units; a++) acc[a] += (floatv)fabsf(w[(size_t)a * sJ]) * d;
                }
            }
            for (int a = 0; a < units; a++) {
                float* c = C + (size_t)(ub + a) * m + p;
                for (int l = 0; l < width; l++) {
                    float value = wscale * acc[a][l];
                    c[l] = accumulate ? c[l] + value : value;
                }
            }
        }
    }
}


MULTIVERSION
void bimt_unit_abs_sums(int m, int I, int F, int sJ, int sI, float wscale, int accumulate,
                        const float* W, float* S) {
    for (int u = 0; u < m; u++) {
        double sum = 0;
        for (int t = 0; t < F; t++) {
            const float* w = W + (size_t)(u + t * m) * sJ;
            if (sI == 1) {
                sum += bimt_abs_sum((size_t)I, w);
            } else {
                for (int i = 0; i < I; i++) sum += fabsf(w[(size_t)i * sI]);
            }
        }
        S[u] = accumulate ? S[u] + wscale * (float)sum : wscale * (float)sum;
    }
}

