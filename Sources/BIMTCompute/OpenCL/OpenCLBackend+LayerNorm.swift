/// OpenCL launches of Kernels/layernorm.cl.
extension OpenCLBackend {
    func layerNormForward(_ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int,
                          epsilon: Float, output: BufferSlice, mean: BufferSlice, rstd: BufferSlice) throws {
        try launch("layernorm", "layernorm_forward",
                   [.int(rows), .int(columns), .float(epsilon), .slice(x), .slice(gamma), .slice(beta), .slice(output),
                    .slice(mean), .slice(rstd)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
    }

    func layerNormBackward(_ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
                           rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
                           gammaGradient: BufferSlice, betaGradient: BufferSlice) throws {
        try launch("layernorm", "layernorm_backward_input",
                   [.int(rows), .int(columns), .slice(x), .slice(gamma), .slice(outputGradient), .slice(mean),
                    .slice(rstd), .slice(inputGradient)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
        let chunks = reductionChunks(rows), partial = try scratchSlice(.columnPartials, count: 2 * chunks * columns)
        try launch("layernorm", "layernorm_parameters_partial",
                   [.int(rows), .int(columns), .int(reductionChunkRows), .slice(x), .slice(outputGradient),
                    .slice(mean), .slice(rstd), .slice(partial)],
                   global: [columns, chunks], local: [pointwiseLocal[0], 1])
        for (offset, gradient) in [(0, gammaGradient), (chunks * columns, betaGradient)] {
            try finishColumnSums(partial.buffer.slice(offset: offset, count: chunks * columns), chunks: chunks,
                                 columns: columns, accumulate: true, into: gradient)
        }
    }
}
