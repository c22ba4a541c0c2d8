// embedding.cl -- token-embedding lookup with folds, and its backward.
//
// tokens: [rows, folds] float-encoded token ids; table: [vocab, dim];
// out: [rows, folds * dim] with out[r, t*dim + c] = table[tokens[r, t], c], so neuron
// t*dim + c of the embedded layer is fold t of slot c (the layout's neuron j = u + t*m).
// embedding_forward global size: (folds * dim, rows).
//
// embedding_backward: dtable[v, c] += sum over (r, t) with tokens[r, t] == v of
// dout[r, t*dim + c]. One work-item per table entry walks the batch: no atomics, and the
// result does not depend on scheduling. Global size: (dim, vocab).

__kernel void embedding_forward(const int rows, const int folds, const int dim,
                                __global const float* tokens, const int offT,
                                __global const float* table, const int offTable,
                                __global float* out, const int offOut)
{
    const int j = get_global_id(0);
    const int r = get_global_id(1);
    if (j >= folds * dim || r >= rows) return;
    const int t = j / dim, c = j % dim;
    const int token = (int)tokens[offT + r * folds + t];
    out[offOut + r * folds * dim + j] = table[offTable + token * dim + c];
}

__kernel void embedding_backward(const int rows, const int folds, const int dim, const int vocab,
                                 __global const float* tokens, const int offT,
                                 __global const float* dout, const int offDOut,
                                 __global float* dtable, const int offDTable)
{
    const int c = get_global_id(0);
    const int v = get_global_id(1);
    if (c >= dim || v >= vocab) return;
    float sum = 0.0f;
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < folds; t++)
            if ((int)tokens[offT + r * folds + t] == v) sum += dout[offDOut + r * folds * dim + t * dim + c];
    dtable[offDTable + v * dim + c] += sum;
}

// one_hot: out[r, v] = (tokens[r, fold] == v) for one fold of a [rows, folds] token
// matrix: the left operand of the GEMM form of embedding_backward on devices where the
// scan above is slow (dtable += one_hot^T * dout_fold). Global size: (vocab, rows).
__kernel void one_hot(const int rows, const int folds, const int fold, const int vocab,
                      __global const float* tokens, const int offT,
                      __global float* out, const int offOut)
{
    const int v = get_global_id(0);
    const int r = get_global_id(1);
    if (v >= vocab || r >= rows) return;
    out[offOut + r * vocab + v] = (int)tokens[offT + r * folds + fold] == v ? 1.0f : 0.0f;
}
