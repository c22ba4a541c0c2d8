/// OpenCL launches of Kernels/dropout.cl.
extension OpenCLBackend {
    func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws {
        try launch("dropout", "dropout",
                   [.int(x.count), .uint(UInt32(truncatingIfNeeded: key)), .uint(UInt32(truncatingIfNeeded: key >> 32)),
                    .uint(DropoutMask.threshold(rate)), .float(DropoutMask.scale(rate)), .slice(x), .slice(y)],
                   global: [x.count], local: pointwiseLocal)
    }
}
