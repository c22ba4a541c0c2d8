#include "CBIMTKernels.h"
#include <math.h>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BIMT_NO_MULTIVERSION 1   // TSan instruments ifunc resolvers, which run before its runtime exists
#endif
#endif

#if defined(__x86_64__) && defined(__clang__) && !defined(BIMT_NO_MULTIVERSION)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

#define VW 16
typedef float floatv __attribute__((ext_vector_type(VW)));

// Helpers are macros, not functions: a function taking a 16-float vector would change its
// ABI between the AVX-512, AVX2 and baseline clones.
typedef unsigned int uintv __attribute__((ext_vector_type(VW)));
#define LOADV(p) ({ floatv v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define STOREV(p, v) do { floatv s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
#define ABSV(v) ({ floatv a_ = (v); uintv b_; __builtin_memcpy(&b_, &a_, sizeof a_); b_ &= 0x7fffffffu; \
                   __builtin_memcpy(&a_, &b_, sizeof a_); a_; })
#define HSUM(v) ({ floatv h_ = (v); float s_ = 0; for (int l_ = 0; l_ < VW; l_++) s_ += h_[l_]; s_; })

static inline float distance1(float dx, float dy, int metric) {
    return metric == 0 ? fabsf(dx) + fabsf(dy) : sqrtf(dx * dx + dy * dy);
}

MULTIVERSION
double bimt_penalty_rows(int R, int Q, int r0, int r1, float wf, float l0, float gradScale, int metric,
                         const float* W, float* G, const float* co, const float* ci) {
    const float* cx = ci;
    const float* cy = ci + Q;
    double total = 0;
    for (int r = r0; r < r1; r++) {
        const float ox = co[r], oy = co[R + r];
        const float* w = W + (size_t)r * Q;
        float* g = G ? G + (size_t)r * Q : 0;
        floatv acc = 0;
        int q = 0;
        for (; q + VW <= Q; q += VW) {
            floatv dx = (floatv)ox - LOADV(cx + q), dy = (floatv)oy - LOADV(cy + q);
            floatv d = metric == 0 ? ABSV(dx) + ABSV(dy) : __builtin_elementwise_sqrt(dx * dx + dy * dy);
            floatv f = (floatv)wf * d + (floatv)l0;
            floatv value = LOADV(w + q);
            acc += ABSV(value) * f;
            if (g) {
                floatv sign = __builtin_convertvector(value > 0, floatv) * -1.0f
                            - __builtin_convertvector(value < 0, floatv) * -1.0f;
                STOREV(g + q, LOADV(g + q) + (floatv)gradScale * f * sign);
            }
        }
        float sum = HSUM(acc);
        for (; q < Q; q++) {
            float f = wf * distance1(ox - cx[q], oy - cy[q], metric) + l0;
            float value = w[q];
            sum += fabsf(value) * f;
            if (g) g[q] += gradScale * f * (value > 0 ? 1.0f : (value < 0 ? -1.0f : 0.0f));
        }
        total += sum;
    }
    return total;
}

MULTIVERSION
void bimt_swap_scores(int m, int I, int F, int sJ, int sI, float wscale, int metric, int accumulate,
                      int u0, int u1, const float* W, const float* slots, const float* other, float* C) {
    const float* px = slots;
    const float* py = slots + m;
    const float* ox = other;
    const float* oy = other + I;
    // Register block: RU units x VW slots; the distance vector for (slots p..p+VW, neuron i)
    // is computed once and reused by the RU units.
    enum { RU = 8 };
    for (int ub = u0; ub < u1; ub += RU) {
        const int units = ub + RU <= u1 ? RU : u1 - ub;
        for (int p = 0; p < m; p += VW) {
            const int width = p + VW <= m ? VW : m - p;
            floatv sx = 0, sy = 0;
            for (int l = 0; l < width; l++) { sx[l] = px[p + l]; sy[l] = py[p + l]; }
            floatv acc[RU];
            for (int a = 0; a < RU; a++) acc[a] = 0;
            for (int t = 0; t < F; t++) {
                for (int i = 0; i < I; i++) {
                    floatv dx = sx - (floatv)ox[i], dy = sy - (floatv)oy[i];
                    floatv d = metric == 0 ? ABSV(dx) + ABSV(dy) : __builtin_elementwise_sqrt(dx * dx + dy * dy);
                    const float* w = W + (size_t)(ub + t * m) * sJ + (size_t)i * sI;
                    for (int a = 0; a < units; a++) acc[a] += (floatv)fabsf(w[(size_t)a * sJ]) * d;
                }
            }
            for (int a = 0; a < units; a++) {
                float* c = C + (size_t)(ub + a) * m + p;
                for (int l = 0; l < width; l++) {
                    float value = wscale * acc[a][l];
                    c[l] = accumulate ? c[l] + value : value;
                }
            }
        }
    }
}

MULTIVERSION
double bimt_abs_sum(size_t n, const float* x) {
    floatv acc = 0;
    size_t i = 0;
    for (; i + VW <= n; i += VW) acc += ABSV(LOADV(x + i));
    float sum = HSUM(acc);
    for (; i < n; i++) sum += fabsf(x[i]);
    return sum;
}

MULTIVERSION
void bimt_unit_abs_sums(int m, int I, int F, int sJ, int sI, float wscale, int accumulate,
                        const float* W, float* S) {
    for (int u = 0; u < m; u++) {
        double sum = 0;
        for (int t = 0; t < F; t++) {
            const float* w = W + (size_t)(u + t * m) * sJ;
            if (sI == 1) {
                sum += bimt_abs_sum((size_t)I, w);
            } else {
                for (int i = 0; i < I; i++) sum += fabsf(w[(size_t)i * sI]);
            }
        }
        S[u] = accumulate ? S[u] + wscale * (float)sum : wscale * (float)sum;
    }
}

// exp(v) for a vector: v = n ln2 + r, |r| <= ln2/2; e^r by a degree-6 polynomial; 2^n
// through the exponent bits. Inputs are clamped to [-87.3, 88.7] (no overflow to Inf, no
// denormals), which every caller here tolerates (softmax subtracts the row max first).
#define EXPV(v) ({ \
    floatv x_ = __builtin_elementwise_min(__builtin_elementwise_max((v), (floatv)-87.3f), (floatv)88.7f); \
    floatv n_ = __builtin_elementwise_round(x_ * 1.44269504088896341f); \
    floatv r_ = x_ - n_ * 0.693359375f + n_ * 2.12194440e-4f; \
    floatv p_ = (floatv)1.9875691500e-4f; \
    p_ = p_ * r_ + 1.3981999507e-3f; p_ = p_ * r_ + 8.3334519073e-3f; p_ = p_ * r_ + 4.1665795894e-2f; \
    p_ = p_ * r_ + 1.6666665459e-1f; p_ = p_ * r_ + 5.0000001201e-1f; \
    p_ = p_ * r_ * r_ + r_ + 1.0f; \
    typedef int intv_ __attribute__((ext_vector_type(VW))); \
    intv_ e_ = (__builtin_convertvector(n_, intv_) + 127) << 23; \
    floatv s_; __builtin_memcpy(&s_, &e_, sizeof s_); \
    p_ * s_; })

#define GELU_C 0.7978845608028654f
#define GELU_K 0.044715f

MULTIVERSION
void bimt_activation_forward(int kind, size_t n, const float* x, float* y) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        floatv v = LOADV(x + i), out;
        switch (kind) {
        case 0: out = __builtin_elementwise_max(v, (floatv)0.0f); break;
        case 1: out = v / (1.0f + EXPV(-v)); break;
        case 2: { floatv t = 1.0f - 2.0f / (EXPV(2.0f * GELU_C * (v + GELU_K * v * v * v)) + 1.0f); out = 0.5f * v * (1.0f + t); break; }
        default: out = 1.0f - 2.0f / (EXPV(2.0f * v) + 1.0f); break;
        }
        STOREV(y + i, out);
    }
    for (; i < n; i++) {
        float v = x[i];
        switch (kind) {
        case 0: y[i] = v > 0 ? v : 0; break;
        case 1: y[i] = v / (1.0f + expf(-v)); break;
        case 2: y[i] = 0.5f * v * (1.0f + tanhf(GELU_C * (v + GELU_K * v * v * v))); break;
        default: y[i] = tanhf(v); break;
        }
    }
}

MULTIVERSION
void bimt_activation_backward(int kind, size_t n, const float* x, const float* dy, float* dx) {
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        floatv v = LOADV(x + i), d;
        switch (kind) {
        case 0: d = __builtin_convertvector(v > 0, floatv) * -1.0f; break;
        case 1: { floatv s = 1.0f / (1.0f + EXPV(-v)); d = s * (1.0f + v * (1.0f - s)); break; }
        case 2: {
            floatv t = 1.0f - 2.0f / (EXPV(2.0f * GELU_C * (v + GELU_K * v * v * v)) + 1.0f);
            d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_K * v * v);
            break;
        }
        default: { floatv t = 1.0f - 2.0f / (EXPV(2.0f * v) + 1.0f); d = 1.0f - t * t; break; }
        }
        STOREV(dx + i, LOADV(dx + i) + LOADV(dy + i) * d);
    }
    for (; i < n; i++) {
        float v = x[i], d;
        switch (kind) {
        case 0: d = v > 0 ? 1.0f : 0.0f; break;
        case 1: { float s = 1.0f / (1.0f + expf(-v)); d = s * (1.0f + v * (1.0f - s)); break; }
        case 2: {
            float t = tanhf(GELU_C * (v + GELU_K * v * v * v));
            d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_K * v * v);
            break;
        }
        default: { float t = tanhf(v); d = 1.0f - t * t; break; }
        }
        dx[i] += dy[i] * d;
    }
}

MULTIVERSION
double bimt_cross_entropy_rows(int cols, int r0, int r1, float scale, const float* z, const float* labels,
                               float* dz, int* hits) {
    double total = 0;
    for (int r = r0; r < r1; r++) {
        const float* zr = z + (size_t)r * cols;
        float* dr = dz + (size_t)r * cols;
        const int label = (int)labels[r];
        float largest = zr[0];
        int best = 0;
        for (int c = 1; c < cols; c++) if (zr[c] > largest) { largest = zr[c]; best = c; }
        // exp(z - max) into dr, summed.
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) {
            floatv e = EXPV(LOADV(zr + c) - largest);
            STOREV(dr + c, e);
            acc += e;
        }
        float sum = HSUM(acc);
        for (; c < cols; c++) { dr[c] = expf(zr[c] - largest); sum += dr[c]; }
        const float inverse = scale / sum;
        for (c = 0; c + VW <= cols; c += VW) STOREV(dr + c, LOADV(dr + c) * inverse);
        for (; c < cols; c++) dr[c] *= inverse;
        dr[label] -= scale;
        total += (double)(logf(sum) + largest - zr[label]);
        if (best == label) *hits += 1;
    }
    return total;
}

// ---- Transformer pieces (twins of layernorm.cl and the causal kernels of softmax.cl).

/// Sum of x[0..n) with VW-wide partial sums.
static inline float vsum(const float* x, int n) {
    floatv acc = 0;
    int c = 0;
    for (; c + VW <= n; c += VW) acc += LOADV(x + c);
    float s = HSUM(acc);
    for (; c < n; c++) s += x[c];
    return s;
}

MULTIVERSION
void bimt_layernorm_forward_rows(int cols, int r0, int r1, float eps, const float* x, const float* g, const float* b,
                                 float* y, float* mean, float* rstd) {
    for (int r = r0; r < r1; r++) {
        const float* xr = x + (size_t)r * cols;
        float* yr = y + (size_t)r * cols;
        const float m = vsum(xr, cols) / cols;
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) { floatv d = LOADV(xr + c) - m; acc += d * d; }
        float var = HSUM(acc);
        for (; c < cols; c++) var += (xr[c] - m) * (xr[c] - m);
        const float s = 1.0f / sqrtf(var / cols + eps);
        for (c = 0; c + VW <= cols; c += VW) STOREV(yr + c, (LOADV(xr + c) - m) * s * LOADV(g + c) + LOADV(b + c));
        for (; c < cols; c++) yr[c] = (xr[c] - m) * s * g[c] + b[c];
        mean[r] = m;
        rstd[r] = s;
    }
}

MULTIVERSION
void bimt_layernorm_backward_rows(int cols, int r0, int r1, const float* x, const float* g, const float* dy,
                                  const float* mean, const float* rstd, float* dx, float* dg, float* db) {
    const float n = (float)cols;
    for (int r = r0; r < r1; r++) {
        const float* xr = x + (size_t)r * cols;
        const float* dyr = dy + (size_t)r * cols;
        float* dxr = dx + (size_t)r * cols;
        const float m = mean[r], s = rstd[r];
        floatv sg = 0, sgx = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) {
            floatv d = LOADV(dyr + c), xhat = (LOADV(xr + c) - m) * s, gc = d * LOADV(g + c);
            sg += gc;
            sgx += gc * xhat;
            STOREV(dg + c, LOADV(dg + c) + d * xhat);
            STOREV(db + c, LOADV(db + c) + d);
        }
        float sumG = HSUM(sg), sumGX = HSUM(sgx);
        for (; c < cols; c++) {
            float xhat = (xr[c] - m) * s, gc = dyr[c] * g[c];
            sumG += gc;
            sumGX += gc * xhat;
            dg[c] += dyr[c] * xhat;
            db[c] += dyr[c];
        }
        const float k = s / n;
        for (c = 0; c + VW <= cols; c += VW) {
            floatv xhat = (LOADV(xr + c) - m) * s, gc = LOADV(dyr + c) * LOADV(g + c);
            STOREV(dxr + c, LOADV(dxr + c) + k * (n * gc - sumG - xhat * sumGX));
        }
        for (; c < cols; c++) {
            float xhat = (xr[c] - m) * s, gc = dyr[c] * g[c];
            dxr[c] += k * (n * gc - sumG - xhat * sumGX);
        }
    }
}

MULTIVERSION
void bimt_softmax_causal_rows(int T, int r0, int r1, const float* x, float* y) {
    for (int r = r0; r < r1; r++) {
        const int count = r % T + 1;
        const float* xr = x + (size_t)r * T;
        float* yr = y + (size_t)r * T;
        float largest = xr[0];
        for (int c = 1; c < count; c++) largest = xr[c] > largest ? xr[c] : largest;
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= count; c += VW) { floatv e = EXPV(LOADV(xr + c) - largest); STOREV(yr + c, e); acc += e; }
        float sum = HSUM(acc);
        for (; c < count; c++) { yr[c] = expf(xr[c] - largest); sum += yr[c]; }
        const float inverse = 1.0f / sum;
        for (c = 0; c + VW <= count; c += VW) STOREV(yr + c, LOADV(yr + c) * inverse);
        for (; c < count; c++) yr[c] *= inverse;
        for (c = count; c < T; c++) yr[c] = 0.0f;
    }
}

MULTIVERSION
void bimt_softmax_backward_rows(int cols, int r0, int r1, const float* y, const float* dy, float* dx) {
    for (int r = r0; r < r1; r++) {
        const float* yr = y + (size_t)r * cols;
        const float* dyr = dy + (size_t)r * cols;
        float* dxr = dx + (size_t)r * cols;
        floatv acc = 0;
        int c = 0;
        for (; c + VW <= cols; c += VW) acc += LOADV(dyr + c) * LOADV(yr + c);
        float dot = HSUM(acc);
        for (; c < cols; c++) dot += dyr[c] * yr[c];
        for (c = 0; c + VW <= cols; c += VW) STOREV(dxr + c, LOADV(yr + c) * (LOADV(dyr + c) - dot));
        for (; c < cols; c++) dxr[c] = yr[c] * (dyr[c] - dot);
    }
}
