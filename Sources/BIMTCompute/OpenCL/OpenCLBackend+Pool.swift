/// OpenCL launches of Kernels/pool.cl.
extension OpenCLBackend {
    func poolForward(_ s: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        try enqueue.poolForward(
            N: s.batch, H: s.height, W: s.width, C: s.channels, K: s.size, isMax: s.isMax ? 1 : 0,
            x: input, y: output,
            global: [s.channels, s.outputCount / s.channels], local: [min(groups.group, s.channels), 1])
    }

    func poolBackward(
        _ s: PoolShape, input: BufferSlice, outputGradient: BufferSlice,
        inputGradient: BufferSlice
    ) throws {
        try enqueue.poolBackward(
            N: s.batch, H: s.height, W: s.width, C: s.channels, K: s.size, isMax: s.isMax ? 1 : 0,
            x: input, dy: outputGradient, dx: inputGradient,
            global: [s.channels, s.inputCount / s.channels], local: [min(groups.group, s.channels), 1])
    }

    func biasActivationPool(
        _ s: PoolShape, activation: Activation, bias: BufferSlice, preactivation: BufferSlice,
        activated: BufferSlice, output: BufferSlice
    ) throws {
        try enqueue.biasActivationPool(
            N: s.batch, H: s.height, W: s.width, C: s.channels, K: s.size, isMax: s.isMax ? 1 : 0,
            kind: Int(activation.kernelCode), bias: bias, pre: preactivation, x: activated, y: output,
            global: [s.channels, s.outputCount / s.channels], local: [min(groups.group, s.channels), 1])
    }

    func poolActivationBackward(
        _ s: PoolShape, activation: Activation, preactivation: BufferSlice, input: BufferSlice,
        outputGradient: BufferSlice, preactivationGradient: BufferSlice,
        biasGradient: BufferSlice?
    ) throws {
        try enqueue.poolActivationBackward(
            N: s.batch, H: s.height, W: s.width, C: s.channels, K: s.size, isMax: s.isMax ? 1 : 0,
            kind: Int(activation.kernelCode), pre: preactivation, x: input, dy: outputGradient,
            dpre: preactivationGradient,
            global: [s.channels, s.inputCount / s.channels], local: [min(groups.group, s.channels), 1])
        if let biasGradient {
            try sumColumns(
                preactivationGradient, rows: s.inputCount / s.channels, columns: s.channels,
                into: biasGradient, accumulate: true)
        }
    }
}
