/// GEMM: Kernels/gemm.cl on OpenCL; OpenBLAS and Sources/CBIMTKernels/gemm.c on the CPU path.
extension Device {
    /// `C = alpha * op(A) * op(B) + beta * C`, possibly strided-batched; see `GemmOperation`.
    public func gemm(_ operation: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        try own(a, "GEMM A"); try own(b, "GEMM B"); try own(c, "GEMM C")
        try operation.validate(a: a, b: b, c: c)
        try backend.gemm(operation, a: a, b: b, c: c)
    }
}
