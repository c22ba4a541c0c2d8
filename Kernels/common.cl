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
#define ROW_LOCAL 64
