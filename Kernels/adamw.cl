// adamw.cl -- the optimizer step: one fused AdamW update over a flat parameter buffer
// (PyTorch's AdamW), with the gradient clipped by its global L2 norm (PyTorch's
// clip_grad_norm_) and weight decay on the parameters a mask selects:
//
//     s  = maxNorm > 0 ? min(1, maxNorm / (sqrt(normSq) + 1e-6)) : 1     g = s * grad
//     p -= lr * weightDecay * mask * p
//     m  = beta1 * m + (1 - beta1) * g
//     v  = beta2 * v + (1 - beta2) * g^2
//     p -= lr * (m / c1) / (sqrt(v / c2) + eps)      c1 = 1 - beta1^t, c2 = 1 - beta2^t
//
// normSq is the squared norm on the device (squared_norm_partial, then reduce_sum in
// reduce.cl), so clipping never waits for the host. The host passes the bias
// corrections c1, c2 for step t. Global size: n.

__kernel void adamw_step(const int n, const float lr, const float beta1, const float beta2,
                         const float eps, const float weightDecay, const float c1, const float c2,
                         __global float* p, const int offP,
                         __global const float* g, const int offG,
                         __global float* m, const int offM,
                         __global float* v, const int offV,
                         const float maxNorm, __global const float* normSq, const int offNormSq,
                         const int useMask, __global const float* mask, const int offMask)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float scale = maxNorm > 0.0f ? fmin(1.0f, maxNorm / (sqrt(normSq[offNormSq]) + 1e-6f)) : 1.0f;
    const float grad = g[offG + i] * scale;
    const float decay = useMask ? mask[offMask + i] : 1.0f;
    float param = p[offP + i];
    param -= lr * weightDecay * decay * param;
    const float mi = beta1 * m[offM + i] + (1.0f - beta1) * grad;
    const float vi = beta2 * v[offV + i] + (1.0f - beta2) * grad * grad;
    m[offM + i] = mi;
    v[offV + i] = vi;
    p[offP + i] = param - lr * (mi / c1) / (sqrt(vi / c2) + eps);
}

// partial[group] = sum of x[i]^2 over this group's grid-stride share of x[0..n).
// Local size: NORM_LOCAL. Global size: NORM_LOCAL x groups (at most n / NORM_LOCAL rounded up).
#ifndef NORM_LOCAL
#error "NORM_LOCAL comes from the host (KernelConstants)"
#endif

__kernel __attribute__((reqd_work_group_size(NORM_LOCAL, 1, 1)))
void squared_norm_partial(const int n, __global const float* x, const int offX,
                          __global float* partial, const int offPartial)
{
    __local float sums[NORM_LOCAL];
    float sum = 0.0f;
    for (int i = get_global_id(0); i < n; i += get_global_size(0)) {
        const float value = x[offX + i];
        sum += value * value;
    }
    const float total = group_sum(sums, sum, NORM_LOCAL);
    if (get_local_id(0) == 0) partial[offPartial + get_group_id(0)] = total;
}
