// connection_cost.cl -- the BIMT connection cost and its gradient in ONE fused pass.
//
// For a weight matrix W (R x Q, row-major: R neurons out, Q neurons in) between neuron
// layers with coordinates co (R out-neurons) and ci (Q in-neurons):
//
//     cost    = costScale * sum_rq |W[r,q]| * (wf * dist(co_r, ci_q) + l0)
//     G[r,q] += gradScale * (wf * dist(co_r, ci_q) + l0) * sign(W[r,q])
//
// costScale is 1 (sum) or 1/(R*Q) (mean); gradScale is lambda * costScale. Distances come
// from the coordinates on the fly: no distance matrix exists. metric 0: L1 (|dx| + |dy|;
// |dx| on a line, where y = 0), metric 1: L2. Coordinates are SoA: x[0..n), then y[0..n).
// Each work-group reduces one row into partial[r]; reduce_sum (reduce.cl) then adds the
// partials into one device scalar, so the cost never has to leave the device.
// Local size: (COST_LOCAL, 1). Global size: (COST_LOCAL, R).

// COST_LOCAL: work-items per row (a power of two).
#ifndef COST_LOCAL
#error "COST_LOCAL comes from the host (KernelConstants)"
#endif

inline float bimt_distance(const float dx, const float dy, const int metric)
{
    return metric == 0 ? fabs(dx) + fabs(dy) : sqrt(dx * dx + dy * dy);
}

__kernel __attribute__((reqd_work_group_size(COST_LOCAL, 1, 1)))
void connection_cost_rows(const int R, const int Q, const float wf, const float l0,
                  const float costScale, const float gradScale, const int metric, const int withGradient,
                  __global const float* W, const int offW,
                  __global float* G, const int offG,
                  __global const float* co, const int offCo,
                  __global const float* ci, const int offCi,
                  __global float* partial, const int offPartial)
{
    __local float sums[COST_LOCAL];
    const int lid = get_local_id(0);
    const int r = get_group_id(1);
    const float ox = co[offCo + r], oy = co[offCo + R + r];
    __global const float* w = W + offW + r * Q;
    __global float* g = G + offG + r * Q;
    __global const float* cx = ci + offCi;
    __global const float* cy = ci + offCi + Q;
    float sum = 0.0f;
    for (int q = lid; q < Q; q += COST_LOCAL) {
        const float f = wf * bimt_distance(ox - cx[q], oy - cy[q], metric) + l0;
        const float value = w[q];
        sum += fabs(value) * f;
        if (withGradient) {
            g[q] += gradScale * f * sign(value);
        }
    }
    const float total = group_sum(sums, sum, COST_LOCAL);
    if (lid == 0) partial[offPartial + r] = total * costScale;
}

// L1 cost of a bias or embedding table: cost = costScale * l0 * sum |b|;
// G += gradScale * l0 * sign(b). Partial sums per work-group. Global size: n rounded.
__kernel __attribute__((reqd_work_group_size(COST_LOCAL, 1, 1)))
void l1_cost(const int n, const float l0, const float costScale, const float gradScale,
                const int withGradient,
                __global const float* x, const int offX,
                __global float* G, const int offG,
                __global float* partial, const int offPartial)
{
    __local float sums[COST_LOCAL];
    const int lid = get_local_id(0);
    const int i = get_global_id(0);
    float sum = 0.0f;
    if (i < n) {
        const float value = x[offX + i];
        sum = fabs(value) * l0;
        if (withGradient) G[offG + i] += gradScale * l0 * sign(value);
    }
    const float total = group_sum(sums, sum, COST_LOCAL);
    if (lid == 0) partial[offPartial + get_group_id(0)] = total * costScale;
}
