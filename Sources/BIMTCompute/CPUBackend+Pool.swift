import CBIMTKernels

// The CPU twin of Kernels/pool.cl (NHWC), split over the cores; the loops are vectorized C
// (Sources/CBIMTKernels/pool.c).
extension CPUBackend {
    func poolForward(_ s: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        let x = pointer(input), y = pointer(output)
        let cells = s.batch * (s.height / s.size) * (s.width / s.size)
        parallelChunks(cells, grain: max(1, (1 << 13) / s.channels)) { range in
            bimt_pool_forward(
                Int32(s.height), Int32(s.width), Int32(s.channels), Int32(s.size), s.isMax ? 1 : 0,
                Int32(range.lowerBound), Int32(range.upperBound), x, y)
        }
    }

    func poolBackward(
        _ s: PoolShape, input: BufferSlice, outputGradient: BufferSlice,
        inputGradient: BufferSlice
    ) throws {
        let x = pointer(input), dy = pointer(outputGradient), dx = pointer(inputGradient)
        let cells = s.batch * (s.height / s.size) * (s.width / s.size)
        parallelChunks(cells, grain: max(1, (1 << 13) / s.channels)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * s.channels) { scratch in
                bimt_pool_backward(
                    Int32(s.height), Int32(s.width), Int32(s.channels), Int32(s.size), s.isMax ? 1 : 0,
                    Int32(range.lowerBound), Int32(range.upperBound), x, dy, dx, scratch.baseAddress!)
            }
        }
    }

    func biasActivationPool(
        _ s: PoolShape, activation: Activation, bias: BufferSlice, preactivation: BufferSlice,
        activated: BufferSlice, output: BufferSlice
    ) throws {
        let b = pointer(bias), pre = pointer(preactivation), x = pointer(activated), y = pointer(output)
        let kind = activation.kernelCode
        parallelChunks(s.batch, grain: 1) { range in
            bimt_bias_activation_pool(
                Int32(s.height), Int32(s.width), Int32(s.channels), Int32(s.size),
                s.isMax ? 1 : 0, kind, Int32(range.lowerBound), Int32(range.upperBound),
                b, pre, x, y)
        }
    }

    func poolActivationBackward(
        _ s: PoolShape, activation: Activation, preactivation: BufferSlice, input: BufferSlice,
        outputGradient: BufferSlice, preactivationGradient: BufferSlice,
        biasGradient: BufferSlice?
    ) throws {
        let pre = pointer(preactivation), x = pointer(input), dy = pointer(outputGradient)
        let dPre = pointer(preactivationGradient)
        let kind = activation.kernelCode, C = s.channels
        // Images [range); the bias gradient's per-channel sums go to `sums` when given.
        func run(_ range: Range<Int>, _ sums: UnsafeMutablePointer<Float>?) {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * C) { scratch in
                bimt_pool_activation_backward(
                    Int32(s.height), Int32(s.width), Int32(C), Int32(s.size),
                    s.isMax ? 1 : 0, kind, Int32(range.lowerBound), Int32(range.upperBound),
                    pre, x, dy, dPre, sums, scratch.baseAddress!)
            }
        }
        if let biasGradient {
            bandedSums(s.batch, width: C, grain: 1, into: pointer(biasGradient), accumulate: true) { run($0, $1) }
        } else {
            parallelChunks(s.batch, grain: 1) { run($0, nil) }
        }
    }
}
