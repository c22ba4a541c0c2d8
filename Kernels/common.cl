// common.cl -- helpers the host prepends to every program's source (no kernels here).

// Work-group tree reductions: every work-item of a group of n (a power of two) contributes
// `value` through scratch[n]; every work-item gets the group's sum (or maximum). All of the
// group's work-items must call them; the scratch may be reused as soon as they return.
inline float group_sum(__local float* sums, const float value, const int n)
{
    const int lid = get_local_id(0);
    sums[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = n / 2; stride > 0; stride >>= 1) {
        if (lid < stride) sums[lid] += sums[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float total = sums[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return total;
}

inline float group_max(__local float* scratch, const float value, const int n)
{
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = n / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] = fmax(scratch[lid], scratch[lid + stride]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float largest = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return largest;
}

// Row kernels run one work-group of ROW_LOCAL work-items (a power of two) per row.
#ifndef ROW_LOCAL
#error "ROW_LOCAL comes from the host (KernelConstants)"
#endif

// Softmax of x[0..count) into y (may be x) by one work-group of ROW_LOCAL striding over the
// row; returns the row's log-sum-exp to every work-item.
inline float group_softmax_row(__global const float* x, __global float* y, const int count, __local float* scratch)
{
    const int lid = get_local_id(0);
    float largest = -INFINITY;
    for (int c = lid; c < count; c += ROW_LOCAL) largest = fmax(largest, x[c]);
    largest = group_max(scratch, largest, ROW_LOCAL);
    float sum = 0.0f;
    for (int c = lid; c < count; c += ROW_LOCAL) { const float e = exp(x[c] - largest); y[c] = e; sum += e; }
    sum = group_sum(scratch, sum, ROW_LOCAL);
    const float inverse = 1.0f / sum;
    for (int c = lid; c < count; c += ROW_LOCAL) y[c] *= inverse;
    return largest + log(sum);
}

// f(v) of activation `kind` (0 relu, 1 silu, 2 gelu in its tanh form, 3 tanh; see
// activation.cl for the formulas): the activation forward kernels and pool.cl's fused
// bias + activation + pooling.
inline float activation_value(const int kind, const float v)
{
    if (kind == 0) return fmax(v, 0.0f);
    if (kind == 1) return v / (1.0f + exp(-v));
    if (kind == 2) return 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    return tanh(v);
}

// f'(v) of activation `kind` (0 relu, 1 silu, 2 gelu in its tanh form, 3 tanh; see
// activation.cl for the formulas): the activation backward kernels and pool.cl's fused
// pooling + activation backward.
inline float activation_derivative(const int kind, const float v)
{
    if (kind == 0) return v > 0.0f ? 1.0f : 0.0f;
    if (kind == 1) {
        const float s = 1.0f / (1.0f + exp(-v));
        return s * (1.0f + v * (1.0f - s));
    }
    if (kind == 2) {
        const float t = tanh(0.7978845608028654f * (v + 0.044715f * v * v * v));
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * v * v);
    }
    const float t = tanh(v);
    return 1.0f - t * t;
}

// dropout.cl's keep test for element `index` of the attention probabilities under `key`:
// attention.cl's and attention_single.cl's dropout of P, drawn as the unfused path draws it.
inline bool attention_keep(const ulong key, const ulong index, const uint threshold) {
    ulong z = key + (index + 1) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z ^= z >> 31;
    return (uint)(z >> 40) >= threshold;
}
