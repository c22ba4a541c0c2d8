/// Non-overlapping K x K pooling with stride K over NHWC activations. Like PyTorch's
/// `MaxPool2d(K)` and `AvgPool2d(K)` (floor mode), the output is floor(H/K) x floor(W/K):
/// rows and columns past the last whole window are not read and get no gradient.
public struct PoolShape: Sendable, Equatable, Codable {
    /// Images.
    public var batch: Int
    /// Rows per image.
    public var height: Int
    /// Columns per image.
    public var width: Int
    /// Channels per pixel.
    public var channels: Int
    /// The pooling window's side and stride.
    public var size: Int
    /// Max-pooling (false: average).
    public var isMax: Bool

    /// A pooling shape.
    public init(batch: Int, height: Int, width: Int, channels: Int, size: Int, isMax: Bool) {
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.size = size
        self.isMax = isMax
    }

    /// Input elements.
    public var inputCount: Int { batch * height * width * channels }
    /// Output elements.
    public var outputCount: Int { batch * (height / size) * (width / size) * channels }

    func validate() throws {
        guard batch >= 1, channels >= 1, size >= 1, height >= size, width >= size else {
            throw ComputeError.invalidArgument(
                "pooling needs a \(height)x\(width) input at least as large as the window \(size)")
        }
    }
}

/// Pooling, alone and fused with the bias and activation around it (Kernels/pool.cl).
extension Device {
    /// output = pool(input) over NHWC [N, H, W, C] -> [N, H/K, W/K, C].
    public func poolForward(_ shape: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        try shape.validate()
        try conv(
            input.count == shape.inputCount && output.count == shape.outputCount,
            "pool: input \(input.count) (needs \(shape.inputCount)), "
                + "output \(output.count) (needs \(shape.outputCount))", input, output)
        try backend.poolForward(shape, input: input, output: output)
    }

    /// inputGradient += the pooling backward of outputGradient (input is the forward input).
    public func poolBackward(
        _ shape: PoolShape, input: BufferSlice, outputGradient: BufferSlice,
        inputGradient: BufferSlice
    ) throws {
        try shape.validate()
        try conv(
            input.count == shape.inputCount && inputGradient.count == shape.inputCount
                && outputGradient.count == shape.outputCount,
            "pool backward: input \(input.count), output gradient \(outputGradient.count), "
                + "input gradient \(inputGradient.count)",
            input, outputGradient, inputGradient)
        try backend.poolBackward(shape, input: input, outputGradient: outputGradient, inputGradient: inputGradient)
    }

    /// Bias, `activation` and pooling, in one pass: preactivation += bias (one value per
    /// channel, in place), activated = f(preactivation), output = pool(activated). Pixels past
    /// the last whole window are biased and activated but not pooled. Equal to `addBias`,
    /// `activationForward`, then `poolForward`, without reading the activations back.
    /// `activated` may be `preactivation` itself (the activation written in place).
    public func biasActivationPool(
        _ shape: PoolShape, activation: Activation, bias: BufferSlice,
        preactivation: BufferSlice, activated: BufferSlice, output: BufferSlice
    ) throws {
        try shape.validate()
        try conv(
            bias.count == shape.channels && preactivation.count == shape.inputCount
                && activated.count == shape.inputCount && output.count == shape.outputCount,
            "bias + activation + pool: bias \(bias.count) (needs \(shape.channels)), "
                + "preactivation \(preactivation.count) and "
                + "activated \(activated.count) (need \(shape.inputCount)), "
                + "output \(output.count) (needs \(shape.outputCount))",
            bias, preactivation, activated, output)
        try backend.biasActivationPool(
            shape, activation: activation, bias: bias, preactivation: preactivation,
            activated: activated, output: output)
    }

    /// The backward of `activation` then pooling, in one pass: preactivationGradient =
    /// f'(preactivation) * (the pooling backward of outputGradient), overwritten (not added
    /// to), 0 where floor-mode pooling read nothing. `input` = f(preactivation) is the
    /// pooling's forward input. Equal to filling both gradients with 0, `poolBackward`, then
    /// `activationBackward`, without the intermediate gradient. With `biasGradient` (one value
    /// per channel) it also adds each channel's sum of preactivationGradient there: the
    /// gradient of the bias that `biasActivationPool` added (in the same pass on the CPU path;
    /// a column-sum launch after the kernel on OpenCL). For
    /// ReLU, whose derivative is the same at z and at relu(z), `preactivation` may be the
    /// activation itself (a ReLU written in place).
    public func poolActivationBackward(
        _ shape: PoolShape, activation: Activation, preactivation: BufferSlice,
        input: BufferSlice, outputGradient: BufferSlice,
        preactivationGradient: BufferSlice, biasGradient: BufferSlice? = nil
    ) throws {
        try shape.validate()
        try conv(
            preactivation.count == shape.inputCount && input.count == shape.inputCount
                && outputGradient.count == shape.outputCount && preactivationGradient.count == shape.inputCount
                && (biasGradient?.count ?? shape.channels) == shape.channels,
            "pool + activation backward: preactivation \(preactivation.count), input \(input.count) "
                + "(need \(shape.inputCount)), output gradient \(outputGradient.count) (needs \(shape.outputCount)), "
                + "preactivation gradient \(preactivationGradient.count), "
                + "bias gradient \(biasGradient.map { "\($0.count)" } ?? "none") (needs \(shape.channels))",
            [preactivation, input, outputGradient, preactivationGradient] + (biasGradient.map { [$0] } ?? []))
        try backend.poolActivationBackward(
            shape, activation: activation, preactivation: preactivation, input: input,
            outputGradient: outputGradient, preactivationGradient: preactivationGradient,
            biasGradient: biasGradient)
    }
}
