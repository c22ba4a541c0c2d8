// permute.cl -- gathers that apply a neuron permutation to a row-major [rows, cols]
// matrix: new position i receives old position perm[i]. perm is float-encoded (device
// buffers are float32; indices < 2^24 are exact). dst must not alias src.
// Global size: (cols, rows).

__kernel void gather_rows(const int rows, const int cols,
                          __global const float* src, const int offS,
                          __global const float* perm, const int offP,
                          __global float* dst, const int offD)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (r >= rows || c >= cols) return;
    const int from = (int)perm[offP + r];
    dst[offD + r * cols + c] = src[offS + from * cols + c];
}

__kernel void gather_columns(const int rows, const int cols,
                             __global const float* src, const int offS,
                             __global const float* perm, const int offP,
                             __global float* dst, const int offD)
{
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (r >= rows || c >= cols) return;
    const int from = (int)perm[offP + c];
    dst[offD + r * cols + c] = src[offS + r * cols + from];
}
