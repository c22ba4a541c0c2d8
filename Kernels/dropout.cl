// dropout.cl -- inverted dropout with a counter-based mask (no mask is stored):
//
//     keep_i = bits_i >= threshold        bits_i = the top 24 bits of splitmix64(key + (i + 1) * 0x9E3779B97F4A7C15)
//     y_i    = keep_i ? x_i * scale : 0   threshold = floor(p * 2^24), scale = 1 / (1 - p)
//
// The mask of element i is a function of (key, i) alone, so the backward pass recomputes
// it (dx = dropout(dy) with the same key) and the CPU path (dropout.c) draws the same one.
// The 64-bit key comes as two 32-bit halves. In place is allowed. Global size: n.

__kernel void dropout(const int n, const uint keyLow, const uint keyHigh, const uint threshold, const float scale,
                      __global const float* x, const int offX,
                      __global float* y, const int offY)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    ulong z = (((ulong)keyHigh << 32) | (ulong)keyLow) + (ulong)(i + 1) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z ^= z >> 31;
    const uint bits = (uint)(z >> 40);
    y[offY + i] = bits >= threshold ? x[offX + i] * scale : 0.0f;
}
