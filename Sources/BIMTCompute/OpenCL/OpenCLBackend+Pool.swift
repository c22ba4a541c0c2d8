/// OpenCL launches of Kernels/pool.cl.
extension OpenCLBackend {
    func poolForward(_ s: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        try launch("pool", "pool_forward",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .slice(input), .slice(output)],
                   global: [s.channels, s.outputCount / s.channels], local: [min(16, s.channels), 1])
    }

    func poolBackward(_ s: PoolShape, input: BufferSlice, outputGradient: BufferSlice,
                      inputGradient: BufferSlice) throws {
        try launch("pool", "pool_backward",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .slice(input), .slice(outputGradient), .slice(inputGradient)],
                   global: [s.channels, s.inputCount / s.channels], local: [min(16, s.channels), 1])
    }

    func biasActivationPool(_ s: PoolShape, activation: Activation, bias: BufferSlice, preactivation: BufferSlice,
                            activated: BufferSlice, output: BufferSlice) throws {
        try launch("pool", "bias_activation_pool",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .int(Int(activation.kernelCode)), .slice(bias), .slice(preactivation), .slice(activated),
                    .slice(output)],
                   global: [s.channels, s.outputCount / s.channels], local: [min(16, s.channels), 1])
    }

    func poolActivationBackward(_ s: PoolShape, activation: Activation, preactivation: BufferSlice, input: BufferSlice,
                                outputGradient: BufferSlice, preactivationGradient: BufferSlice,
                                biasGradient: BufferSlice?) throws {
        try launch("pool", "pool_activation_backward",
                   [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.size), .int(s.isMax ? 1 : 0),
                    .int(Int(activation.kernelCode)), .slice(preactivation), .slice(input), .slice(outputGradient),
                    .slice(preactivationGradient)],
                   global: [s.channels, s.inputCount / s.channels], local: [min(16, s.channels), 1])
        if let biasGradient {
            try sumColumns(preactivationGradient, rows: s.inputCount / s.channels, columns: s.channels,
                           into: biasGradient, accumulate: true)
        }
    }
}
