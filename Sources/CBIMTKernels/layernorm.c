// C twin of Kernels/layernorm.cl: LayerNorm forward and backward rows.
#include "CBIMTKernels.h"
#include "vector.h"

MULTIVERSION
void bimt_layernorm_forward_rows(int cols, int r0, int r1, float eps, const float* x, const float* g, const float* b,
                                 float* y, float* mean, float* rstd) {
    for (int r = r0; r < r1; r++) {
        const float* xr = x + (size_t)r * cols;
        float* yr = y + (size_t)r * cols;
        const float m = vsum(xr, cols) / cols;
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) { floatv d = LOADV(xr + c) - m; acc += d * d; }
        float var = HSUM(acc);
        for (; c < cols; c++) var += (xr[c] - m) * (xr[c] - m);
        const float s = 1.0f / sqrtf(var / cols + eps);
        for (c = 0; c + VW <= cols; c += VW) STOREV(yr + c, (LOADV(xr + c) - m) * s * LOADV(g + c) + LOADV(b + c));
        for (; c < cols; c++) yr[c] = (xr[c] - m) * s * g[c] + b[c];
        mean[r] = m;
        rstd[r] = s;
    }
}

MULTIVERSION
void bimt_layernorm_backward_rows(int cols, int r0, int r1, const float* x, const float* g, const float* dy,
                                  const float* mean, const float* rstd, float* dx, float* dg, float* db) {
    const float n = (float)cols;
    for (int r = r0; r < r1; r++) {
        const float* xr = x + (size_t)r * cols;
        const float* dyr = dy + (size_t)r * cols;
        float* dxr = dx + (size_t)r * cols;
        const float m = mean[r], s = rstd[r];
        floatv sg = 0, sgx = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) {
            floatv d = LOADV(dyr + c), xhat = (LOADV(xr + c) - m) * s, gc = d * LOADV(g + c);
            sg += gc;
            sgx += gc * xhat;
            STOREV(dg + c, LOADV(dg + c) + d * xhat);
            STOREV(db + c, LOADV(db + c) + d);
        }
        float sumG = HSUM(sg), sumGX = HSUM(sgx);
        for (; c < cols; c++) {
            float xhat = (xr[c] - m) * s, gc = dyr[c] * g[c];
            sumG += gc;
            sumGX += gc * xhat;
            dg[c] += dyr[c] * xhat;
            db[c] += dyr[c];
        }
        const float k = s / n;
        for (c = 0; c + VW <= cols; c += VW) {
            floatv xhat = (LOADV(xr + c) - m) * s, gc = LOADV(dyr + c) * LOADV(g + c);
            STOREV(dxr + c, LOADV(dxr + c) + k * (n * gc - sumG - xhat * sumGX));
        }
        for (; c < cols; c++) {
            float xhat = (xr[c] - m) * s, gc = dyr[c] * g[c];
            dxr[c] += k * (n * gc - sumG - xhat * sumGX);
        }
    }
}

