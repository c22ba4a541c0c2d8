/// OpenCL launches of Kernels/loss.cl, embedding.cl and the batch gather.
extension OpenCLBackend {
    func mseLoss(output: BufferSlice, target: BufferSlice, outputGradient: BufferSlice, loss: BufferSlice) throws {
        let local = 64, groups = (output.count + local - 1) / local
        let partial = try scratchSlice(.partialSums, count: groups)
        try launch("loss", "mse_loss",
                   [.int(output.count), .slice(output), .slice(target), .slice(outputGradient), .slice(partial)],
                   global: [groups * local], local: [local])
        try reduceSum(partial, accumulate: true, into: loss)
    }

    func crossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int, logitGradient: BufferSlice,
                      loss: BufferSlice, correct: BufferSlice) throws {
        let perRow = try scratchSlice(.partialSums, count: 2 * rows)
        let rowLoss = perRow.slice(offset: 0, count: rows), rowCorrect = perRow.slice(offset: rows, count: rows)
        try launch("loss", "cross_entropy",
                   [.int(rows), .int(columns), .slice(logits), .slice(labels), .slice(logitGradient),
                    .slice(rowLoss), .slice(rowCorrect)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
        // Mean loss: scale the per-row losses by 1 / rows before summing.
        try launch("elementwise", "scale", [.int(rows), .float(1 / Float(rows)), .slice(rowLoss)],
                   global: [rows], local: pointwiseLocal)
        try reduceSum(rowLoss, accumulate: true, into: loss)
        try reduceSum(rowCorrect, accumulate: true, into: correct)
    }

    func embeddingForward(tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
                          output: BufferSlice) throws {
        try launch("embedding", "embedding_forward",
                   [.int(rows), .int(folds), .int(dimension), .slice(tokens), .slice(table), .slice(output)],
                   global: [folds * dimension, rows], local: [min(16, folds * dimension), 1])
    }

    func embeddingBackward(tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int, dimension: Int,
                           vocabulary: Int, tableGradient: BufferSlice) throws {
        // Per fold: dtable += onehot(tokens[:, t])^T * dout[:, t*D ..< (t+1)*D], a GEMM,
        // instead of every table entry scanning the whole batch.
        let oneHot = try scratchSlice(.staging, count: rows * vocabulary)
        for fold in 0..<folds {
            try launch("embedding", "one_hot",
                       [.int(rows), .int(folds), .int(fold), .int(vocabulary), .slice(tokens), .slice(oneHot)],
                       global: [vocabulary, rows], local: [min(16, vocabulary), 1])
            try gemm(GemmOperation(m: vocabulary, n: dimension, k: rows, transposeA: true, beta: 1,
                                   lda: vocabulary, ldb: folds * dimension, ldc: dimension),
                     a: oneHot, b: outputGradient.slice(offset: fold * dimension, count: outputGradient.count - fold * dimension),
                     c: tableGradient)
        }
    }

    func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        let index = try scratchSlice(.permutation, count: indices.count)
        try indices.map(Float.init).withUnsafeBufferPointer { try write($0, to: index) }
        try gatherRows(source: source, columns: columns, deviceIndices: index, into: destination)
    }

    func gatherRows(source: BufferSlice, columns: Int, deviceIndices index: BufferSlice, into destination: BufferSlice) throws {
        try launch("permute", "gather_rows",
                   [.int(index.count), .int(columns), .slice(source), .slice(index), .slice(destination)],
                   global: [columns, index.count], local: [min(16, columns), 1])
    }
}
