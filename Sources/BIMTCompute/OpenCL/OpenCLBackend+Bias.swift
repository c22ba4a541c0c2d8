/// OpenCL launches of Kernels/bias.cl.
extension OpenCLBackend {
    func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws {
        let lx = min(64, device.maxWorkGroupSize)
        try launch("bias", "bias_add", [.int(rows), .int(columns), .slice(bias), .slice(x)],
                   global: [columns, rows], local: [lx, 1])
    }

    func sumColumns(_ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice, accumulate: Bool) throws {
        let chunks = reductionChunks(rows), partial = try scratchSlice(.columnPartials, count: chunks * columns)
        try launch("bias", "column_sum_partial", [.int(rows), .int(columns), .int(reductionChunkRows), .slice(x),
                                                  .slice(partial)],
                   global: [columns, chunks], local: [pointwiseLocal[0], 1])
        try finishColumnSums(partial, chunks: chunks, columns: columns, accumulate: accumulate, into: out)
    }

    /// column_sum_finish: out[c] = (or += with `accumulate`) the sum over `chunks` rows of
    /// partial [chunks, columns]: the second pass of `sumColumns` and of LayerNorm's parameter
    /// gradients.
    func finishColumnSums(_ partial: BufferSlice, chunks: Int, columns: Int, accumulate: Bool,
                          into out: BufferSlice) throws {
        try launch("bias", "column_sum_finish",
                   [.int(chunks), .int(columns), .int(accumulate ? 1 : 0), .slice(partial), .slice(out)],
                   global: [columns], local: pointwiseLocal)
    }
}
