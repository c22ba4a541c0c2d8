// elementwise.cl -- fill, copy, scale, axpy over flat float buffers.
// Every buffer argument comes with an element offset; n is the element count.
// Global size: n (rounded up to the work-group size; extra work-items return).

__kernel void fill(const int n, const float value, __global float* x, const int offX)
{
    const int i = get_global_id(0);
    if (i < n) x[offX + i] = value;
}

__kernel void copy(const int n, __global const float* x, const int offX,
                   __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) y[offY + i] = x[offX + i];
}

// x = alpha * x
__kernel void scale(const int n, const float alpha, __global float* x, const int offX)
{
    const int i = get_global_id(0);
    if (i < n) x[offX + i] *= alpha;
}

// y = alpha * x + y
__kernel void axpy(const int n, const float alpha, __global const float* x, const int offX,
                   __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i < n) y[offY + i] = fma(alpha, x[offX + i], y[offY + i]);
}
