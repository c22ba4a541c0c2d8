// precision.cl -- fp32 to bfloat16 (twin: Sources/CBIMTKernels/precision.c).
//
// bf16 is the top half of an fp32 word: round to nearest, ties to even, by adding 0x7fff plus
// the lowest kept bit before dropping 16 bits; a NaN stays a quiet NaN. The words live in
// float buffers, two per float: a kernel reading them takes the float pointer and offset the
// host passes (in floats) and indexes 16-bit words from there.

inline ushort to_bf16(const float x)
{
    const uint bits = as_uint(x);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (ushort)((bits >> 16) | 0x0040u);
    return (ushort)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// W[b][r][c] = bf16(X[offX + b * strideX + r * ld + c]) for a batch of rows x columns
// matrices, packed densely (rows * columns words apart). Global size: (columns, rows, batch).
__kernel void bf16_pack(const int rows, const int columns,
                        __global const float* X, const int offX, const int ld, const int strideX,
                        __global float* W, const int offW)
{
    const int c = get_global_id(0), r = get_global_id(1), b = get_global_id(2);
    if (c >= columns || r >= rows) return;
    __global ushort* words = (__global ushort*)(W + offW);
    words[((long)b * rows + r) * columns + c] = to_bf16(X[offX + b * strideX + r * ld + c]);
}
