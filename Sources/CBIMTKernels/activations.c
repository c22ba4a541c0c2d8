// C twin of Kernels/activations.cl: activation forward and backward.
#include "CBIMTKernels.h"
#include "vector.h"

#define GELU_C 0.7978845608028654f
#define GELU_K 0.044715f

MULTIVERSION
void bimt_activation_forward(int kind, size_t n, const float* x, float* y) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        floatv v = LOADV(x + i), out;
        switch (kind) {
        case 0: out = __builtin_elementwise_max(v, (floatv)0.0f); break;
        case 1: out = v / (1.0f + EXPV(-v)); break;
        case 2: { floatv t = 1.0f - 2.0f / (EXPV(2.0f * GELU_C * (v + GELU_K * v * v * v)) + 1.0f); out = 0.5f * v * (1.0f + t); break; }
        default: out = 1.0f - 2.0f / (EXPV(2.0f * v) + 1.0f); break;
        }
        STOREV(y + i, out);
    }
    for (; i < n; i++) {
        float v = x[i];
        switch (kind) {
        case 0: y[i] = v > 0 ? v : 0; break;
        case 1: y[i] = v / (1.0f + expf(-v)); break;
        case 2: y[i] = 0.5f * v * (1.0f + tanhf(GELU_C * (v + GELU_K * v * v * v))); break;
        default: y[i] = tanhf(v); break;
        }
    }
}

MULTIVERSION
void bimt_activation_backward(int kind, size_t n, const float* x, const float* dy, float* dx) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        floatv v = LOADV(x + i), d;
        switch (kind) {
        case 0: d = __builtin_convertvector(v > 0, floatv) * -1.0f; break;
        case 1: { floatv s = 1.0f / (1.0f + EXPV(-v)); d = s * (1.0f + v * (1.0f - s)); break; }
        case 2: {
            floatv t = 1.0f - 2.0f / (EXPV(2.0f * GELU_C * (v + GELU_K * v * v * v)) + 1.0f);
            d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_K * v * v);
            break;
        }
        default: { floatv t = 1.0f - 2.0f / (EXPV(2.0f * v) + 1.0f); d = 1.0f - t * t; break; }
        }
        STOREV(dx + i, LOADV(dx + i) + LOADV(dy + i) * d);
    }
    for (; i < n; i++) {
        float v = x[i], d;
        switch (kind) {
        case 0: d = v > 0 ? 1.0f : 0.0f; break;
        case 1: { float s = 1.0f / (1.0f + expf(-v)); d = s * (1.0f + v * (1.0f - s)); break; }
        case 2: {
            float t = tanhf(GELU_C * (v + GELU_K * v * v * v));
            d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_K * v * v);
            break;
        }
        default: { float t = tanhf(v); d = 1.0f - t * t; break; }
        }
        dx[i] += dy[i] * d;
    }
}

