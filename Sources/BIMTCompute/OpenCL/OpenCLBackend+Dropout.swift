/// OpenCL launches of Kernels/dropout.cl.
extension OpenCLBackend {
    func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws {
        try enqueue.dropout(
            n: x.count, keyLow: UInt32(truncatingIfNeeded: key),
            keyHigh: UInt32(truncatingIfNeeded: key >> 32), threshold: DropoutMask.threshold(rate),
            scale: DropoutMask.scale(rate), x: x, y: y, global: [x.count], local: pointwiseLocal)
    }
}
