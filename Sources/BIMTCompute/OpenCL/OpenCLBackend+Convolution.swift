/// OpenCL launches of Kernels/convolution.cl.
extension OpenCLBackend {
    func im2col(_ s: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        try enqueue.im2col(
            N: s.batch, H: s.height, W: s.width, C: s.channels, KH: s.kernelHeight, KW: s.kernelWidth,
            stride: s.stride, pad: s.padding, Ho: s.outputHeight, Wo: s.outputWidth,
            x: input, cols: columns,
            global: [s.patchSize, s.patchCount], local: [min(groups.group, s.patchSize), 1])
    }

    func col2im(_ s: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try enqueue.col2im(
            N: s.batch, H: s.height, W: s.width, C: s.channels, KH: s.kernelHeight, KW: s.kernelWidth,
            stride: s.stride, pad: s.padding, Ho: s.outputHeight, Wo: s.outputWidth,
            cols: columnGradient, dx: inputGradient,
            global: [s.channels, s.batch * s.height * s.width], local: [min(groups.group, s.channels), 1])
    }
}
