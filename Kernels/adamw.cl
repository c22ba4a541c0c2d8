// adamw.cl -- one fused AdamW step over a flat parameter buffer (PyTorch's AdamW):
//
//     p -= lr * weightDecay * p
//     m  = beta1 * m + (1 - beta1) * g
//     v  = beta2 * v + (1 - beta2) * g^2
//     p -= lr * (m / c1) / (sqrt(v / c2) + eps)      c1 = 1 - beta1^t, c2 = 1 - beta2^t
//
// The host passes the bias corrections c1, c2 for step t. Global size: n.

__kernel void adamw_step(const int n, const float lr, const float beta1, const float beta2,
                         const float eps, const float weightDecay, const float c1, const float c2,
                         __global float* p, const int offP,
                         __global const float* g, const int offG,
                         __global float* m, const int offM,
                         __global float* v, const int offV)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float grad = g[offG + i];
    float param = p[offP + i];
    param -= lr * weightDecay * param;
    const float mi = beta1 * m[offM + i] + (1.0f - beta1) * grad;
    const float vi = beta2 * v[offV + i] + (1.0f - beta2) * grad * grad;
    m[offM + i] = mi;
    v[offV + i] = vi;
    p[offP + i] = param - lr * (mi / c1) / (sqrt(vi / c2) + eps);
}
