/// Softmax over the rows of a matrix, its causal form and its backward (Kernels/softmax.cl).
extension Device {
    /// output[r, :] = softmax(x[r, :]) for a row-major [rows, columns] matrix; x may be output.
    public func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws {
        try own(x, "softmax input"); try own(output, "softmax output")
        try matrix(x, rows: rows, columns: columns, "softmax input")
        try matrix(output, rows: rows, columns: columns, "softmax output")
        try backend.softmaxRows(x, output: output, rows: rows, columns: columns)
    }

    /// Causal softmax over attention scores [rows, length], rows = batch*heads*length: row r
    /// attends to columns 0 ... r % length; the rest of the row is set to 0. x may be output.
    public func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        try transformerOperands(x, output)
        try transformerShape(
            length >= 1 && rows >= 1 && rows % length == 0 && x.count == rows * length
                && output.count == x.count,
            "causal softmax: \(rows) rows of \(length) (rows must be a multiple of the length), "
                + "x \(x.count)")
        try backend.softmaxCausal(x, output: output, rows: rows, length: length)
    }

    /// inputGradient = y * (dy - sum_c dy * y) per row, y the softmax output (sets, does not add).
    public func softmaxBackward(
        output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
        inputGradient: BufferSlice
    ) throws {
        try transformerOperands(output, outputGradient, inputGradient)
        try transformerShape(
            rows >= 1 && columns >= 1 && output.count == rows * columns
                && outputGradient.count == output.count && inputGradient.count == output.count,
            "softmax backward: [\(rows), \(columns)] but y \(output.count), "
                + "dy \(outputGradient.count), dx \(inputGradient.count)")
        try backend.softmaxBackward(
            output: output, outputGradient: outputGradient, rows: rows, columns: columns,
            inputGradient: inputGradient)
    }
}
