// common.cl -- helpers the host prepends to every program's source (no kernels here).

// Work-group tree sum: every work-item of a group of n (a power of two) contributes
// `value` through sums[n]; every work-item gets the group's total. All of the group's
// work-items must call it.
inline float group_sum(__local float* sums, const float value, const int n)
{
    const int lid = get_local_id(0);
    sums[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = n / 2; stride > 0; stride >>= 1) {
        if (lid < stride) sums[lid] += sums[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return sums[0];
}
