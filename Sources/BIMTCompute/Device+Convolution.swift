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
    public init(
        batch: Int, height: Int, width: Int, channels: Int, kernelHeight: Int, kernelWidth: Int,
        stride: Int = 1, padding: Int = 0
    ) {
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
        guard batch >= 1, height >= 1, width >= 1, channels >= 1, kernelHeight >= 1, kernelWidth >= 1, stride >= 1,
            padding >= 0
        else { throw ComputeError.invalidArgument("convolution sizes must be positive (padding >= 0): \(self)") }
        guard outputHeight >= 1, outputWidth >= 1 else {
            throw ComputeError.invalidArgument(
                "a \(kernelHeight)x\(kernelWidth) kernel does not fit a \(height)x\(width) input "
                    + "with padding \(padding)"
            )
        }
    }
}

/// The data movement of a 2-D convolution, im2col and its adjoint (Kernels/convolution.cl).
extension Device {
    /// columns = im2col(input): [N*Ho*Wo, kh*kw*C] from NHWC input [N, H, W, C].
    public func im2col(_ shape: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        try shape.validate()
        try conv(
            input.count == shape.inputCount && columns.count == shape.patchCount * shape.patchSize,
            "im2col: input \(input.count) (needs \(shape.inputCount)), "
                + "columns \(columns.count) (needs \(shape.patchCount * shape.patchSize))",
            input, columns)
        try backend.im2col(shape, input: input, columns: columns)
    }

    /// inputGradient += col2im(columnGradient): the backward of `im2col`.
    public func col2im(_ shape: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try shape.validate()
        try conv(
            inputGradient.count == shape.inputCount && columnGradient.count == shape.patchCount * shape.patchSize,
            "col2im: input gradient \(inputGradient.count), column gradient \(columnGradient.count)", columnGradient,
            inputGradient)
        try backend.col2im(shape, columnGradient: columnGradient, inputGradient: inputGradient)
    }
}
