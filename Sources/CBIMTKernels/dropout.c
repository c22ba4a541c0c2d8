// C twin of Kernels/dropout.cl: inverted dropout with a counter-based mask.
#include <stdint.h>
#include "CBIMTKernels.h"

void bimt_dropout(int i0, int i1, uint64_t key, uint32_t threshold, float scale, const float* x, float* y) {
    for (int i = i0; i < i1; i++) {
        uint64_t z = key + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        const uint32_t bits = (uint32_t)(z >> 40);
        y[i] = bits >= threshold ? x[i] * scale : 0.0f;
    }
}
