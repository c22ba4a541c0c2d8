/// The geometry of a 2-D convolution over NHWC activations (see Kernels/convolution.cl).
public struct ConvolutionShape: Sendable, Equatable, Codable {
    /// Images.
    public var batch: Int
    /// Rows per image.
    public var height: Int
    /// Columns per image.
    public var width: Int
    /// Channels per pixel.
    public var channels: Int
    /// Kernel rows.
    public var kernelHeight: Int
    /// Kernel columns.
    public var kernelWidth: Int
    /// Step between kernel positions.
    public var stride: Int
    /// Zero pixels added on each side.
    public var padding: Int

    /// An im2col shape.
    public init(batch: Int, height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int,
                stride: Int = 1, padding: Int = 0) {
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
    }

    /// Kernel positions down.
    public var outputHeight: Int { (height + 2 * padding - kernelHeight) / stride + 1 }
    /// Kernel positions across.
    public var outputWidth: Int { (width + 2 * padding - kernelWidth) / stride + 1 }
    /// Rows of the im2col matrix: N * Ho * Wo.
    public var patchCount: Int { batch * outputHeight * outputWidth }
    /// Columns of the im2col matrix: kh * kw * C.
    public var patchSize: Int { kernelHeight * kernelWidth * channels }
    /// Input elements.
    public var inputCount: Int { batch * height * width * channels }

    func validate() throws {
        guard batch >= 1, height >= 1, width >= 1, channels >= 1, kernelHeight >= 1, kernelWidth >= 1, stride >= 1, padding >= 0
        else { throw ComputeError.invalidArgument("convolution sizes must be positive (padding >= 0): \(self)") }
        guard outputHeight >= 1, outputWidth >= 1 else {
            throw ComputeError.invalidArgument("a \(kernelHeight)x\(kernelWidth) kernel does not fit a \(height)x\(width) input with padding \(padding)")
        }
    }
}

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
            throw ComputeError.invalidArgument("pooling needs a \(height)x\(width) input at least as large as the window \(size)")
        }
    }
}

extension Device {
    /// columns = im2col(input): [N*Ho*Wo, kh*kw*C] from NHWC input [N, H, W, C].
    public func im2col(_ shape: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        try shape.validate()
        try conv(input.count == shape.inputCount && columns.count == shape.patchCount * shape.patchSize,
                 "im2col: input \(input.count) (needs \(shape.inputCount)), columns \(columns.count) (needs \(shape.patchCount * shape.patchSize))",
                 input, columns)
        try backend.im2col(shape, input: input, columns: columns)
    }

    /// inputGradient += col2im(columnGradient): the backward of `im2col`.
    public func col2im(_ shape: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try shape.validate()
        try conv(inputGradient.count == shape.inputCount && columnGradient.count == shape.patchCount * shape.patchSize,
                 "col2im: input gradient \(inputGradient.count), column gradient \(columnGradient.count)", columnGradient, inputGradient)
        try backend.col2im(shape, columnGradient: columnGradient, inputGradient: inputGradient)
    }

    /// output = pool(input) over NHWC [N, H, W, C] -> [N, H/K, W/K, C].
    public func poolForward(_ shape: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        try shape.validate()
        try conv(input.count == shape.inputCount && output.count == shape.outputCount,
                 "pool: input \(input.count) (needs \(shape.inputCount)), output \(output.count) (needs \(shape.outputCount))", input, output)
        try backend.poolForward(shape, input: input, output: output)
    }

    /// inputGradient += the pooling backward of outputGradient (input is the forward input).
    public func poolBackward(_ shape: PoolShape, input: BufferSlice, outputGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try shape.validate()
        try conv(input.count == shape.inputCount && inputGradient.count == shape.inputCount && outputGradient.count == shape.outputCount,
                 "pool backward: input \(input.count), output gradient \(outputGradient.count), input gradient \(inputGradient.count)",
                 input, outputGradient, inputGradient)
        try backend.poolBackward(shape, input: input, outputGradient: outputGradient, inputGradient: inputGradient)
    }

    /// Bias, `activation` and pooling, in one pass: preactivation += bias (one value per
    /// channel, in place), activated = f(preactivation), output = pool(activated). Pixels past
    /// the last whole window are biased and activated but not pooled. Equal to `addBias`,
    /// `activationForward`, then `poolForward`, without reading the activations back.
    /// `activated` may be `preactivation` itself (the activation written in place).
    public func biasActivationPool(_ shape: PoolShape, activation: Activation, bias: BufferSlice, preactivation: BufferSlice,
                                   activated: BufferSlice, output: BufferSlice) throws {
        try shape.validate()
        try conv(bias.count == shape.channels && preactivation.count == shape.inputCount && activated.count == shape.inputCount
                 && output.count == shape.outputCount,
                 "bias + activation + pool: bias \(bias.count) (needs \(shape.channels)), preactivation \(preactivation.count) and "
                 + "activated \(activated.count) (need \(shape.inputCount)), output \(output.count) (needs \(shape.outputCount))",
                 bias, preactivation, activated, output)
        try backend.biasActivationPool(shape, activation: activation, bias: bias, preactivation: preactivation, activated: activated,
                                       output: output)
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
    public func poolActivationBackward(_ shape: PoolShape, activation: Activation, preactivation: BufferSlice, input: BufferSlice,
                                       outputGradient: BufferSlice, preactivationGradient: BufferSlice,
                                       biasGradient: BufferSlice? = nil) throws {
        try shape.validate()
        try conv(preactivation.count == shape.inputCount && input.count == shape.inputCount && outputGradient.count == shape.outputCount
                 && preactivationGradient.count == shape.inputCount && (biasGradient?.count ?? shape.channels) == shape.channels,
                 "pool + activation backward: preactivation \(preactivation.count), input \(input.count) (need \(shape.inputCount)), "
                 + "output gradient \(outputGradient.count) (needs \(shape.outputCount)), preactivation gradient \(preactivationGradient.count), "
                 + "bias gradient \(biasGradient.map { "\($0.count)" } ?? "none") (needs \(shape.channels))",
                 [preactivation, input, outputGradient, preactivationGradient] + (biasGradient.map { [$0] } ?? []))
        try backend.poolActivationBackward(shape, activation: activation, preactivation: preactivation, input: input,
                                           outputGradient: outputGradient, preactivationGradient: preactivationGradient,
                                           biasGradient: biasGradient)
    }

    private func conv(_ condition: Bool, _ text: @autoclosure () -> String, _ slices: BufferSlice...) throws {
        try conv(condition, text(), slices)
    }

    private func conv(_ condition: Bool, _ text: @autoclosure () -> String, _ slices: [BufferSlice]) throws {
        for slice in slices where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a convolution operand was not allocated by \(name)")
        }
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }
}
