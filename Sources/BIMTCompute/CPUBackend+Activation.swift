import CBIMTKernels

// The CPU twin of Kernels/activation.cl: Sources/CBIMTKernels/activation.c, split over the cores.
extension CPUBackend {
    func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws {
        let px = pointer(input), py = pointer(output), kind = activation.kernelCode
        parallelChunks(input.count, grain: 1 << 14) { range in
            bimt_activation_forward(kind, range.count, px + range.lowerBound, py + range.lowerBound)
        }
    }

    func activationBackward(
        _ activation: Activation, input: BufferSlice,
        outputGradient: BufferSlice, inputGradient: BufferSlice
    ) throws {
        let px = pointer(input), pdy = pointer(outputGradient), pdx = pointer(inputGradient)
        let kind = activation.kernelCode
        parallelChunks(input.count, grain: 1 << 14) { range in
            let start = range.lowerBound
            bimt_activation_backward(kind, range.count, px + start, pdy + start, pdx + start)
        }
    }
}

extension Activation {
    /// The `kind` argument of the C twins.
    var kernelCode: Int32 {
        switch self {
        case .relu: 0
        case .silu: 1
        case .gelu: 2
        case .tanh: 3
        }
    }
}
