/// OpenCL launches of Kernels/conv.cl and pool.cl.
extension OpenCLBackend {
    private func convolutionArguments(_ s: ConvolutionShape) -> [Argument] {
        [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.kernelHeight), .int(s.kernelWidth),
         .int(s.stride), .int(s.padding), .int(s.outputHeight), .int(s.outputWidth)]
    }

    func im2col(_ s: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        try launch("conv", "im2col", convolutionArguments(s) + [.slice(input), .slice(columns)],
                   global: [s.patchSize, s.patchCount], local: [min(16, s.patchSize), 1])
    }

    func col2im(_ s: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try launch("conv", "col2im", convolutionArguments(s) + [.slice(columnGradient), .slice(inputGradient)],
                   global: [s.channels, s.batch * s.height * s.width], local: [min(16, s.channels), 1])
    }

    func convolutionForward(_ s: ConvolutionShape, input: BufferSlice, weight: BufferSlice, outputChannels: Int,
                            output: BufferSlice) throws {
        try launch("conv", "conv_direct_forward", convolutionArguments(s) + [.int(outputChannels), .slice(input), .slice(weight), .slice(output)],
                   global: [outputChannels, s.patchCount], local: [min(16, outputChannels), 1])
    }

    func convolutionWeightGradient(_ s: ConvolutionShape, input: BufferSlice, outputGradient: BufferSlice, outputChannels: Int,
                                   weightGradient: BufferSlice) throws {
        let entries = outputChannels * s.patchSize, chunks = reductionChunks(s.patchCount)
        let partial = try scratchSlice(.columnPartials, count: chunks * entries)
        try launch("conv", "conv_direct_weight_gradient_partial",
                   convolutionArguments(s) + [.int(outputChannels), .int(reductionChunkRows), .slice(input), .slice(outputGradient), .slice(partial)],
                   global: [entries, chunks], local: [min(16, entries), 1])
        try launch("bias", "column_sum_finish", [.int(chunks), .int(entries), .int(1), .slice(partial), .slice(weightGradient)],
                   global: [entries], local: pointwiseLocal)
    }

    func poolForward(_ s: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        try launch("pool", "pool_forward",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .slice(input), .slice(output)],
                   global: [s.channels, s.outputCount / s.channels], local: [min(16, s.channels), 1])
    }

    func poolBackward(_ s: PoolShape, input: BufferSlice, outputGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try launch("pool", "pool_backward",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .slice(input), .slice(outputGradient), .slice(inputGradient)],
                   global: [s.channels, s.inputCount / s.channels], local: [min(16, s.channels), 1])
    }

    func biasActivationPool(_ s: PoolShape, activation: Activation, bias: BufferSlice, preactivation: BufferSlice,
                            activated: BufferSlice, output: BufferSlice) throws {
        try launch("pool", "bias_activation_pool",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .int(Int(activation.kernelCode)), .slice(bias), .slice(preactivation), .slice(activated), .slice(output)],
                   global: [s.channels, s.outputCount / s.channels], local: [min(16, s.channels), 1])
    }

    func poolActivationBackward(_ s: PoolShape, activation: Activation, preactivation: BufferSlice, input: BufferSlice,
                                outputGradient: BufferSlice, preactivationGradient: BufferSlice, biasGradient: BufferSlice?) throws {
        try launch("pool", "pool_activation_backward",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .int(Int(activation.kernelCode)), .slice(preactivation), .slice(input), .slice(outputGradient), .slice(preactivationGradient)],
                   global: [s.channels, s.inputCount / s.channels], local: [min(16, s.channels), 1])
        if let biasGradient {
            try sumColumns(preactivationGradient, rows: s.inputCount / s.channels, columns: s.channels, into: biasGradient, accumulate: true)
        }
    }
}
