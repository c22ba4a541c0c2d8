/// OpenCL launches of Kernels/convolution.cl.
extension OpenCLBackend {
    private func convolutionArguments(_ s: ConvolutionShape) -> [Argument] {
        [.int(s.batch), .int(s.height), .int(s.width), .int(s.channels), .int(s.kernelHeight), .int(s.kernelWidth),
         .int(s.stride), .int(s.padding), .int(s.outputHeight), .int(s.outputWidth)]
    }

    func im2col(_ s: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        try launch("convolution", "im2col", convolutionArguments(s) + [.slice(input), .slice(columns)],
                   global: [s.patchSize, s.patchCount], local: [min(16, s.patchSize), 1])
    }

    func col2im(_ s: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try launch("convolution", "col2im", convolutionArguments(s) + [.slice(columnGradient), .slice(inputGradient)],
                   global: [s.channels, s.batch * s.height * s.width], local: [min(16, s.channels), 1])
    }
}
