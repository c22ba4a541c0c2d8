/// OpenCL launches of Kernels/precision.cl, and what OpenCL devices offer for bf16 products.
extension OpenCLBackend {
    /// Every device type runs gemm_tiled_bf16; none natively (no matrix units are used yet),
    /// so `auto` keeps OpenCL devices in fp32.
    var bf16Support: BF16Support {
        BF16Support(
            available: true, native: false,
            reason: "gemm_tiled_bf16 reads bf16 operands and computes in fp32; bimt uses no matrix units on OpenCL yet")
    }

    /// `batch` stored matrices of `rows` x `columns` (leading dimension `ld`, `stride` floats
    /// apart) as dense bf16 words in `words` (two per float).
    func packBF16(
        _ x: BufferSlice, rows: Int, columns: Int, ld: Int, batch: Int, stride: Int, into words: BufferSlice
    ) throws {
        try enqueue.bf16Pack(
            rows: rows, columns: columns, X: x, ld: ld, strideX: stride, W: words,
            global: [columns, rows, batch], local: [min(groups.pointwise, columns), 1, 1])
    }
}
