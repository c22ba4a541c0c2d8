/// OpenCL launches of Kernels/loss.cl.
extension OpenCLBackend {
    func mseLoss(output: BufferSlice, target: BufferSlice, outputGradient: BufferSlice, loss: BufferSlice) throws {
        let local = constants.lossLocal.value, groups = (output.count + local - 1) / local
        let partial = try scratchSlice(.partialSums, count: groups)
        try enqueue.mseLoss(
            n: output.count, y: output, t: target, dy: outputGradient, partial: partial,
            global: [groups * local], local: [local])
        try reduceSum(partial, accumulate: true, into: loss)
    }

    func crossEntropy(
        logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int, logitGradient: BufferSlice,
        loss: BufferSlice, correct: BufferSlice
    ) throws {
        let perRow = try scratchSlice(.partialSums, count: 2 * rows)
        let rowLoss = perRow.slice(offset: 0, count: rows), rowCorrect = perRow.slice(offset: rows, count: rows)
        try enqueue.crossEntropy(
            rows: rows, cols: columns, z: logits, labels: labels, dz: logitGradient,
            rowLoss: rowLoss, correct: rowCorrect,
            global: [rows], local: [groups.group])
        // Mean loss: scale the per-row losses by 1 / rows before summing.
        try scale(rowLoss, by: 1 / Float(rows))
        try reduceSum(rowLoss, accumulate: true, into: loss)
        try reduceSum(rowCorrect, accumulate: true, into: correct)
    }
}
