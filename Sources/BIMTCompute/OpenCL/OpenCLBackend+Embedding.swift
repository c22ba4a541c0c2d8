/// OpenCL launches of Kernels/embedding.cl.
extension OpenCLBackend {
    func embeddingForward(
        tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
        output: BufferSlice
    ) throws {
        try enqueue.embeddingForward(
            rows: rows, folds: folds, dim: dimension, tokens: tokens, table: table,
            out: output,
            global: [folds * dimension, rows], local: [min(groups.group, folds * dimension), 1])
    }

    func embeddingBackward(
        tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int, dimension: Int,
        vocabulary: Int, tableGradient: BufferSlice
    ) throws {
        // Per fold: dtable += onehot(tokens[:, t])^T * dout[:, t*D ..< (t+1)*D], a GEMM,
        // instead of every table entry scanning the whole batch.
        let oneHot = try scratchSlice(.staging, count: rows * vocabulary)
        for fold in 0..<folds {
            try enqueue.oneHot(
                rows: rows, folds: folds, fold: fold, vocab: vocabulary, tokens: tokens, out: oneHot,
                global: [vocabulary, rows], local: [min(groups.group, vocabulary), 1])
            try gemm(
                GemmOperation(
                    m: vocabulary, n: dimension, k: rows, transposeA: true, beta: 1,
                    lda: vocabulary, ldb: folds * dimension, ldc: dimension),
                a: oneHot,
                b: outputGradient.slice(
                    offset: fold * dimension,
                    count: outputGradient.count - fold * dimension),
                c: tableGradient)
        }
    }
}
