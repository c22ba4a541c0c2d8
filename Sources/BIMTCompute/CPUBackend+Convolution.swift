import CBIMTKernels

// The CPU twin of Kernels/convolution.cl (NHWC), split over the cores by rows; the loops are
// vectorized C (Sources/CBIMTKernels/convolution.c).
extension CPUBackend {
    func im2col(_ s: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        let x = pointer(input), cols = pointer(columns)
        parallelChunks(s.patchCount, grain: max(1, (1 << 14) / s.patchSize)) { range in
            bimt_im2col(
                Int32(s.height), Int32(s.width), Int32(s.channels), Int32(s.kernelHeight), Int32(s.kernelWidth),
                Int32(s.stride),
                Int32(s.padding), Int32(s.outputHeight), Int32(s.outputWidth), Int32(range.lowerBound),
                Int32(range.upperBound),
                x, cols)
        }
    }

    func col2im(_ s: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        let cols = pointer(columnGradient), dx = pointer(inputGradient)
        // Gathered per input pixel (as the kernel does): each pixel's channels are written by one thread.
        parallelChunks(s.batch * s.height * s.width, grain: max(1, (1 << 13) / s.channels)) { range in
            bimt_col2im(
                Int32(s.height), Int32(s.width), Int32(s.channels), Int32(s.kernelHeight), Int32(s.kernelWidth),
                Int32(s.stride),
                Int32(s.padding), Int32(s.outputHeight), Int32(s.outputWidth), Int32(range.lowerBound),
                Int32(range.upperBound),
                cols, dx)
        }
    }
}
