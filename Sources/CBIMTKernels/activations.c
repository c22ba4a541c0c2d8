// C twin of Kernels/activations.cl: activation forward and backward.
#include "CBIMTKernels.h"
#include "vector.h"


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
    for (; i + VW <= n; i += VW) STOREV(dx + i, LOADV(dx + i) + LOADV(dy + i) * ACTIVATION_DERIVATIVE(kind, LOADV(x + i)));
    for (; i < n; i++) dx[i] += dy[i] * activation_derivative(kind, x[i]);
}
