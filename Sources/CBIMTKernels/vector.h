// Shared by the C twins of the OpenCL kernels (one .c file per Kernels/*.cl family):
// function multiversioning and the 16-float vector helpers.
#ifndef BIMT_VECTOR_H
#define BIMT_VECTOR_H
#include <math.h>
#include <stddef.h>

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

// Softmax of x[0..n) into y (may be x): y = exp(x - max) / sum; sets `largest_` and `sum_`
// (declared by the caller), so log-sum-exp = largest_ + logf(sum_). A macro for the same
// reason as the helpers above: it runs inside each multiversioned clone.
#define SOFTMAX_ROW(x, y, n, largest_, sum_) do { \
    const float* sx_ = (x); float* sy_ = (y); const int sn_ = (n); \
    largest_ = sx_[0]; \
    for (int c_ = 1; c_ < sn_; c_++) largest_ = sx_[c_] > largest_ ? sx_[c_] : largest_; \
    floatv acc_ = 0; int c_ = 0; \
    for (; c_ + VW <= sn_; c_ += VW) { \
        floatv e_ = EXPV(LOADV(sx_ + c_) - largest_); STOREV(sy_ + c_, e_); acc_ += e_; \
    } \
    sum_ = HSUM(acc_); \
    for (; c_ < sn_; c_++) { sy_[c_] = expf(sx_[c_] - largest_); sum_ += sy_[c_]; } \
    const float inverse_ = 1.0f / sum_; \
    for (c_ = 0; c_ + VW <= sn_; c_ += VW) STOREV(sy_ + c_, LOADV(sy_ + c_) * inverse_); \
    for (; c_ < sn_; c_++) sy_[c_] *= inverse_; \
} while (0)

// f(v) of activation `kind` (0 relu, 1 silu, 2 gelu in its tanh form, else tanh) for a
// vector v (ACTIVATION) and a scalar (activation_value): activation.c's forward and
// pool.c's fused bias + activation + pooling.
#define GELU_C 0.7978845608028654f
#define GELU_K 0.044715f
#define ACTIVATION(kind, v) ({ \
    floatv v_ = (v), f_; \
    switch (kind) { \
    case 0: f_ = __builtin_elementwise_max(v_, (floatv)0.0f); break; \
    case 1: f_ = v_ / (1.0f + EXPV(-v_)); break; \
    case 2: { \
        floatv t_ = 1.0f - 2.0f / (EXPV(2.0f * GELU_C * (v_ + GELU_K * v_ * v_ * v_)) + 1.0f); \
        f_ = 0.5f * v_ * (1.0f + t_); break; \
    } \
    default: f_ = 1.0f - 2.0f / (EXPV(2.0f * v_) + 1.0f); break; \
    } \
    f_; })

static inline float activation_value(int kind, float v) {
    switch (kind) {
    case 0: return v > 0 ? v : 0;
    case 1: return v / (1.0f + expf(-v));
    case 2: return 0.5f * v * (1.0f + tanhf(GELU_C * (v + GELU_K * v * v * v)));
    default: return tanhf(v);
    }
}

// f'(v) of activation `kind` (0 relu, 1 silu, 2 gelu in its tanh form, else tanh) for a
// vector v (ACTIVATION_DERIVATIVE) and a scalar (activation_derivative): activation.c's
// backward and pool.c's fused pooling + activation backward.
#define ACTIVATION_DERIVATIVE(kind, v) ({ \
    floatv v_ = (v), d_; \
    switch (kind) { \
    case 0: d_ = __builtin_convertvector(v_ > 0, floatv) * -1.0f; break; \
    case 1: { floatv s_ = 1.0f / (1.0f + EXPV(-v_)); d_ = s_ * (1.0f + v_ * (1.0f - s_)); break; } \
    case 2: { \
        floatv t_ = 1.0f - 2.0f / (EXPV(2.0f * GELU_C * (v_ + GELU_K * v_ * v_ * v_)) + 1.0f); \
        d_ = 0.5f * (1.0f + t_) + 0.5f * v_ * (1.0f - t_ * t_) * GELU_C * (1.0f + 3.0f * GELU_K * v_ * v_); \
        break; \
    } \
    default: { floatv t_ = 1.0f - 2.0f / (EXPV(2.0f * v_) + 1.0f); d_ = 1.0f - t_ * t_; break; } \
    } \
    d_; })

static inline float activation_derivative(int kind, float v) {
    switch (kind) {
    case 0: return v > 0 ? 1.0f : 0.0f;
    case 1: { float s = 1.0f / (1.0f + expf(-v)); return s * (1.0f + v * (1.0f - s)); }
    case 2: {
        float t = tanhf(GELU_C * (v + GELU_K * v * v * v));
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_C * (1.0f + 3.0f * GELU_K * v * v);
    }
    default: { float t = tanhf(v); return 1.0f - t * t; }
    }
}

/// Sum of x[0..n) with VW-wide partial sums.
static inline float vsum(const float* x, int n) {
    floatv acc = 0;
    int c = 0;
    for (; c + VW <= n; c += VW) acc += LOADV(x + c);
    float s = HSUM(acc);
    for (; c < n; c++) s += x[c];
    return s;
}

#endif
