// reduce.cl -- the last step of every reduction that ends in one device scalar (not a family
// of its own): the loss, the squared gradient norm and the connection cost each leave
// partial sums in scratch, and reduce_sum adds them into out[0], so the value never has to
// leave the device.
//
// out[0] (+)= sum of x[0..n). One work-group. Global size: REDUCE_LOCAL.

// REDUCE_LOCAL: work-items of the one work-group (a power of two).
#ifndef REDUCE_LOCAL
#error "REDUCE_LOCAL comes from the host (KernelConstants)"
#endif

__kernel __attribute__((reqd_work_group_size(REDUCE_LOCAL, 1, 1)))
void reduce_sum(const int n, const int accumulate,
                __global const float* x, const int offX,
                __global float* out, const int offOut)
{
    __local float sums[REDUCE_LOCAL];
    const int lid = get_local_id(0);
    float sum = 0.0f;
    for (int i = lid; i < n; i += REDUCE_LOCAL) sum += x[offX + i];
    const float total = group_sum(sums, sum, REDUCE_LOCAL);
    if (lid == 0) out[offOut] = accumulate ? out[offOut] + total : total;
}
