/// GEMM: Kernels/gemm.cl on OpenCL; OpenBLAS, oneDNN and Sources/CBIMTKernels/gemm.c on the CPU path.
extension Device {
    /// `C = alpha * op(A) * op(B) + beta * C`, possibly strided-batched; see `GemmOperation`.
    /// The operands are rounded to bf16 when `matrixPrecision` is `.bf16` (C stays fp32).
    public func gemm(_ operation: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        try gemm(operation, a: a, b: b, c: c, precision: activePrecision)
    }

    /// The product at a given precision, whatever `matrixPrecision` says (attention's
    /// products are fp32 at either setting).
    public func gemm(
        _ operation: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice, precision: MatrixPrecision
    ) throws {
        try own(a, "GEMM A"); try own(b, "GEMM B"); try own(c, "GEMM C")
        try operation.validate(a: a, b: b, c: c)
        try backend.gemm(operation, a: a, b: b, c: c, precision: precision)
    }
}
