/// Bias add and its gradient, the column sum (Kernels/bias.cl).
extension Device {
    /// x[r, c] += bias[c] for a row-major [rows, columns] matrix x.
    public func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws {
        try own(bias, "bias"); try own(x, "bias target")
        try matrix(x, rows: rows, columns: columns, "bias target")
        try same(bias.count, columns, "bias has \(bias.count) elements for a [\(rows), \(columns)] matrix")
        try backend.addBias(bias, to: x, rows: rows, columns: columns)
    }

    /// out[c] = sum over rows of x[r, c] (added to out when `accumulate`): the bias gradient.
    public func sumColumns(
        _ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice,
        accumulate: Bool = false
    ) throws {
        try own(x, "column-sum input"); try own(out, "column-sum output")
        try matrix(x, rows: rows, columns: columns, "column-sum input")
        try same(out.count, columns, "column-sum output has \(out.count) elements for a [\(rows), \(columns)] matrix")
        try backend.sumColumns(x, rows: rows, columns: columns, into: out, accumulate: accumulate)
    }
}
