/// Pointwise activation functions with a forward and an accumulating backward pass.
public enum Activation: String, Sendable, CaseIterable, Codable {
    /// max(x, 0)
    case relu
    /// x * sigmoid(x)
    case silu
    /// GELU, tanh form: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    case gelu
    case tanh
}

/// Pointwise activations and their accumulating backward (Kernels/activation.cl).
extension Device {
    /// output = f(input)
    public func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws {
        try own(input, "\(activation) input"); try own(output, "\(activation) output")
        try same(input.count, output.count, "\(activation) input has \(input.count) elements, output \(output.count)")
        try backend.activationForward(activation, input: input, output: output)
    }

    /// inputGradient += outputGradient * f'(input)
    public func activationBackward(
        _ activation: Activation, input: BufferSlice,
        outputGradient: BufferSlice, inputGradient: BufferSlice
    ) throws {
        try own(input, "\(activation) input"); try own(outputGradient, "\(activation) output gradient")
        try own(inputGradient, "\(activation) input gradient")
        try same(
            input.count, outputGradient.count,
            "\(activation) input has \(input.count) elements, output gradient \(outputGradient.count)")
        try same(
            input.count, inputGradient.count,
            "\(activation) input has \(input.count) elements, input gradient \(inputGradient.count)")
        try backend.activationBackward(
            activation, input: input, outputGradient: outputGradient,
            inputGradient: inputGradient)
    }
}
