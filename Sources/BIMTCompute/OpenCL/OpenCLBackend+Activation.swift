/// OpenCL launches of Kernels/activation.cl.
extension OpenCLBackend {
    func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws {
        try launch("activation", "\(activation.rawValue)_forward",
                   [.int(input.count), .slice(input), .slice(output)],
                   global: [input.count], local: pointwiseLocal)
    }

    func activationBackward(_ activation: Activation, input: BufferSlice,
                            outputGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try launch("activation", "\(activation.rawValue)_backward",
                   [.int(input.count), .slice(input), .slice(outputGradient), .slice(inputGradient)],
                   global: [input.count], local: pointwiseLocal)
    }
}
