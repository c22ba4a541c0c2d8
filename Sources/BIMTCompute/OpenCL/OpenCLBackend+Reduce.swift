/// OpenCL launches of Kernels/reduce.cl, and the chunking of the column reductions.
extension OpenCLBackend {
    /// out[0] = (or += with `accumulate`) the sum of `x`, on the device: Kernels/reduce.cl's
    /// reduce_sum, the last step of the losses, the squared norm and the connection cost.
    func reduceSum(_ x: BufferSlice, accumulate: Bool, into out: BufferSlice) throws {
        let local = constants.reduceLocal.value
        try enqueue.reduceSum(
            n: x.count, accumulate: accumulate ? 1 : 0, x: x, out: out,
            global: [local], local: [local])
    }

    /// Rows each work-item sums in the first pass of a column reduction (column sums,
    /// LayerNorm's parameter gradients), and the chunks of `rows` that makes.
    var reductionChunkRows: Int { 64 }
    func reductionChunks(_ rows: Int) -> Int { (rows + reductionChunkRows - 1) / reductionChunkRows }
}
