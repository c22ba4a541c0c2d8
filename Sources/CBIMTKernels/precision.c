// bf16 conversion (twin of precision.cl): fp32 to bfloat16 words, round to nearest even.
#include "CBIMTKernels.h"
#include "vector.h"
#include <string.h>

// bf16 is the top half of an fp32: add 0x7fff plus the lowest kept bit, then drop 16 bits
// (round to nearest, ties to even). A NaN stays a quiet NaN (its payload could round to Inf).
static inline uint16_t to_bf16(uint32_t bits) {
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040u);
    return (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

MULTIVERSION
void bimt_bf16_from_rows(int rows, int columns, const float *x, long ld, uint16_t *y) {
    for (int r = 0; r < rows; r++) {
        const float *row = x + (long)r * ld;
        uint16_t *out = y + (long)r * columns;
        for (int c = 0; c < columns; c++) {
            uint32_t bits;
            memcpy(&bits, row + c, 4);
            out[c] = to_bf16(bits);
        }
    }
}

float bimt_bf16_round(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    bits = (uint32_t)to_bf16(bits) << 16;
    memcpy(&x, &bits, 4);
    return x;
}
