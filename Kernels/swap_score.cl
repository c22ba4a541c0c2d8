// swap_score.cl -- batched swap-score evaluation for one neuron layer.
//
// A layer has m slots and F folds: neuron j = u + t*m (t < F) sits in slot u, and the F
// neurons of a slot (a "unit") move together. For one weight matrix touching the layer,
// with I neurons on its other side:
//
//     C[u, p] (+)= wscale * sum_t sum_i |W(u + t*m, i)| * dist(slot p, other neuron i)
//
// = the cost of unit u's connections through this matrix if u sat at slot p (wscale is
// wf times the matrix's reduction scale; l0 is the same at every slot and drops out).
// W(j, i) = W[j*sJ + i*sI]: an incoming matrix (rows = this layer) has sJ = fan-in,
// sI = 1; an outgoing one (columns = this layer) has sJ = 1, sI = m*F. C for a whole layer
// is the sum over every matrix that touches it. Coordinates are SoA (x[0..n), y[0..n)):
// `slots` holds the layer's m slot coordinates, `other` the I other-side neurons'.
// No distance matrix is stored: each work-item computes its distances as it goes.
// Global size: (m, m) = (p, u).
//
// swap_deltas: D[j, k] = C[j, k] + C[k, j] - C[j, j] - C[k, k], the change of total cost
// when the units at slots j and k trade places. Global size: (m, m).

inline float swap_distance(const float dx, const float dy, const int metric)
{
    return metric == 0 ? fabs(dx) + fabs(dy) : sqrt(dx * dx + dy * dy);
}

__kernel void swap_scores(const int m, const int I, const int F, const int sJ, const int sI,
                          const float wscale, const int metric, const int accumulate,
                          __global const float* W, const int offW,
                          __global const float* slots, const int offSlots,
                          __global const float* other, const int offOther,
                          __global float* C, const int offC)
{
    const int p = get_global_id(0);
    const int u = get_global_id(1);
    if (p >= m || u >= m) return;
    const float px = slots[offSlots + p], py = slots[offSlots + m + p];
    __global const float* ox = other + offOther;
    __global const float* oy = other + offOther + I;
    float sum = 0.0f;
    for (int t = 0; t < F; t++) {
        __global const float* w = W + offW + (u + t * m) * sJ;
        for (int i = 0; i < I; i++)
            sum += fabs(w[i * sI]) * swap_distance(px - ox[i], py - oy[i], metric);
    }
    const float value = wscale * sum;
    C[offC + u * m + p] = accumulate ? C[offC + u * m + p] + value : value;
}

__kernel void swap_deltas(const int m, __global const float* C, const int offC,
                          __global float* D, const int offD)
{
    const int k = get_global_id(0);
    const int j = get_global_id(1);
    if (j >= m || k >= m) return;
    C += offC;
    D[offD + j * m + k] = C[j * m + k] + C[k * m + j] - C[j * m + j] - C[k * m + k];
}

// unit_abs_sums: S[u] (+)= wscale * sum_t sum_i |W(u + t*m, i)|, the importance of unit u
// through one matrix (the paper ranks neurons by sum |in| + sum |out|). Global size: m.
__kernel void unit_abs_sums(const int m, const int I, const int F, const int sJ, const int sI,
                            const float wscale, const int accumulate,
                            __global const float* W, const int offW,
                            __global float* S, const int offS)
{
    const int u = get_global_id(0);
    if (u >= m) return;
    float sum = 0.0f;
    for (int t = 0; t < F; t++) {
        __global const float* w = W + offW + (u + t * m) * sJ;
        for (int i = 0; i < I; i++) sum += fabs(w[i * sI]);
    }
    S[offS + u] = accumulate ? S[offS + u] + wscale * sum : wscale * sum;
}

// swap_scores_vector: the same C[u, p] for CPU-type devices (PoCL). Each work-item keeps
// an SWAP_RU x SWAP_VW block (units x slots) in float-SWAP_VW registers, computes the
// distance vector for its SWAP_VW slots once per other-side neuron and reuses it for its
// SWAP_RU units: like gemm_vector with the distance operand generated on the fly.
// Global size: (ceil(m / SWAP_VW), ceil(m / SWAP_RU)).
// SWAP_VW: slots per work-item (vector width); SWAP_RU: units per work-item.
#ifndef SWAP_VW
#error "SWAP_VW comes from the host (KernelConstants)"
#endif
#ifndef SWAP_RU
#error "SWAP_RU comes from the host (KernelConstants)"
#endif
#define SCAT_(a, b) a##b
#define SCAT(a, b) SCAT_(a, b)
#define sfloatV SCAT(float, SWAP_VW)
#define svloadV SCAT(vload, SWAP_VW)

__kernel void swap_scores_vector(const int m, const int I, const int F, const int sJ, const int sI,
                                 const float wscale, const int metric, const int accumulate,
                                 __global const float* W, const int offW,
                                 __global const float* slots, const int offSlots,
                                 __global const float* other, const int offOther,
                                 __global float* C, const int offC)
{
    const int p0 = get_global_id(0) * SWAP_VW;
    const int u0 = get_global_id(1) * SWAP_RU;
    if (p0 >= m || u0 >= m) return;
    const int width = min(SWAP_VW, m - p0);
    const int units = min(SWAP_RU, m - u0);
    float xs[SWAP_VW], ys[SWAP_VW];
    for (int l = 0; l < SWAP_VW; l++) {
        const int p = p0 + min(l, width - 1);   // lanes past the edge repeat the last slot
        xs[l] = slots[offSlots + p];
        ys[l] = slots[offSlots + m + p];
    }
    const sfloatV sx = svloadV(0, xs), sy = svloadV(0, ys);
    __global const float* ox = other + offOther;
    __global const float* oy = other + offOther + I;
    int rowOffset[SWAP_RU];
    for (int a = 0; a < SWAP_RU; a++) rowOffset[a] = min(a, units - 1) * sJ;   // clamped: extra rows are discarded
    sfloatV acc[SWAP_RU];
    for (int a = 0; a < SWAP_RU; a++) acc[a] = (sfloatV)(0.0f);
    for (int t = 0; t < F; t++) {
        __global const float* w = W + offW + (u0 + t * m) * sJ;
        for (int i = 0; i < I; i++) {
            const sfloatV dx = sx - (sfloatV)(ox[i]), dy = sy - (sfloatV)(oy[i]);
            const sfloatV d = metric == 0 ? fabs(dx) + fabs(dy) : sqrt(dx * dx + dy * dy);
            __global const float* wi = w + i * sI;
            for (int a = 0; a < SWAP_RU; a++) acc[a] = fma((sfloatV)(fabs(wi[rowOffset[a]])), d, acc[a]);
        }
    }
    for (int a = 0; a < units; a++) {
        float out[SWAP_VW];
        SCAT(vstore, SWAP_VW)(acc[a], 0, out);
        __global float* c = C + offC + (u0 + a) * m + p0;
        for (int l = 0; l < width; l++) c[l] = accumulate ? c[l] + wscale * out[l] : wscale * out[l];
    }
}
