/// OpenCL launches of Kernels/bias.cl.
extension OpenCLBackend {
    func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws {
        let lx = groups.pointwise
        try enqueue.biasAdd(rows: rows, cols: columns, bias: bias, x: x, global: [columns, rows], local: [lx, 1])
    }

    func sumColumns(_ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice, accumulate: Bool) throws {
        let chunks = reductionChunks(rows), partial = try scratchSlice(.columnPartials, count: chunks * columns)
        try enqueue.columnSumPartial(
            rows: rows, cols: columns, chunkRows: reductionChunkRows, x: x, partial: partial,
            global: [columns, chunks], local: [pointwiseLocal[0], 1])
        try finishColumnSums(partial, chunks: chunks, columns: columns, accumulate: accumulate, into: out)
    }

    /// column_sum_finish: out[c] = (or += with `accumulate`) the sum over `chunks` rows of
    /// partial [chunks, columns]: the second pass of `sumColumns` and of LayerNorm's parameter
    /// gradients.
    func finishColumnSums(
        _ partial: BufferSlice, chunks: Int, columns: Int, accumulate: Bool,
        into out: BufferSlice
    ) throws {
        try enqueue.columnSumFinish(
            chunks: chunks, cols: columns, accumulate: accumulate ? 1 : 0, partial: partial,
            out: out, global: [columns], local: pointwiseLocal)
    }
}
