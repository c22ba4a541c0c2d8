/// OpenCL launches of Kernels/activation.cl.
extension OpenCLBackend {
    func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws {
        let (n, global, local) = (input.count, [input.count], pointwiseLocal)
        switch activation {
        case .relu: try enqueue.reluForward(n: n, x: input, y: output, global: global, local: local)
        case .silu: try enqueue.siluForward(n: n, x: input, y: output, global: global, local: local)
        case .gelu: try enqueue.geluForward(n: n, x: input, y: output, global: global, local: local)
        case .tanh: try enqueue.tanhForward(n: n, x: input, y: output, global: global, local: local)
        }
    }

    func activationBackward(
        _ activation: Activation, input: BufferSlice,
        outputGradient: BufferSlice, inputGradient: BufferSlice
    ) throws {
        let (n, dy, dx, global, local) = (input.count, outputGradient, inputGradient, [input.count], pointwiseLocal)
        switch activation {
        case .relu: try enqueue.reluBackward(n: n, x: input, dy: dy, dx: dx, global: global, local: local)
        case .silu: try enqueue.siluBackward(n: n, x: input, dy: dy, dx: dx, global: global, local: local)
        case .gelu: try enqueue.geluBackward(n: n, x: input, dy: dy, dx: dx, global: global, local: local)
        case .tanh: try enqueue.tanhBackward(n: n, x: input, dy: dy, dx: dx, global: global, local: local)
        }
    }
}
