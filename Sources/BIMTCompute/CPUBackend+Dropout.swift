import CBIMTKernels

// The CPU twin of Kernels/dropout.cl: Sources/CBIMTKernels/dropout.c, split over the cores.
extension CPUBackend {
    func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws {
        let input = pointer(x), output = pointer(y)
        let threshold = DropoutMask.threshold(rate), scale = DropoutMask.scale(rate)
        parallelChunks(x.count) { range in
            bimt_dropout(Int32(range.lowerBound), Int32(range.upperBound), key, threshold, scale, input, output)
        }
    }
}
