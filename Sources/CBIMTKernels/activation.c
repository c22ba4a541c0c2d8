// C twin of Kernels/activation.cl: activation forward and backward.
#include "CBIMTKernels.h"
#include "vector.h"


MULTIVERSION
void bimt_activation_forward(int kind, size_t n, const float* x, float* y) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) STOREV(y + i, ACTIVATION(kind, LOADV(x + i)));
    for (; i < n; i++) y[i] = activation_value(kind, x[i]);
}

MULTIVERSION
void bimt_activation_backward(int kind, size_t n, const float* x, const float* dy, float* dx) {
    size_t i = 0;
    for (; i + VW <= n; i += VW)
        STOREV(dx + i, LOADV(dx + i) + LOADV(dy + i) * ACTIVATION_DERIVATIVE(kind, LOADV(x + i)));
    for (; i < n; i++) dx[i] += dy[i] * activation_derivative(kind, x[i]);
}
