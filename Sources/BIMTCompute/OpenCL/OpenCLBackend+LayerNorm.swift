/// OpenCL launches of Kernels/layernorm.cl.
extension OpenCLBackend {
    func layerNormForward(
        _ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int,
        epsilon: Float, output: BufferSlice, mean: BufferSlice, rstd: BufferSlice
    ) throws {
        try enqueue.layernormForward(
            R: rows, C: columns, eps: epsilon, x: x, gamma: gamma, beta: beta, y: output,
            mean: mean, rstd: rstd, global: [rows], local: [groups.group])
    }

    func layerNormBackward(
        _ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
        rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
        gammaGradient: BufferSlice, betaGradient: BufferSlice
    ) throws {
        try enqueue.layernormBackwardInput(
            R: rows, C: columns, x: x, gamma: gamma, dy: outputGradient, mean: mean,
            rstd: rstd, dx: inputGradient,
            global: [rows], local: [groups.group])
        let chunks = reductionChunks(rows), partial = try scratchSlice(.columnPartials, count: 2 * chunks * columns)
        try enqueue.layernormParametersPartial(
            R: rows, C: columns, chunkRows: reductionChunkRows, x: x,
            dy: outputGradient, mean: mean, rstd: rstd, partial: partial,
            global: [columns, chunks], local: [pointwiseLocal[0], 1])
        for (offset, gradient) in [(0, gammaGradient), (chunks * columns, betaGradient)] {
            try finishColumnSums(
                partial.buffer.slice(offset: offset, count: chunks * columns), chunks: chunks,
                columns: columns, accumulate: true, into: gradient)
        }
    }
}
