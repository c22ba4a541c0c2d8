/// Pieces of a transformer block (Kernels/layernorm.cl, softmax.cl).
extension Device {
    /// y = (x - mean) * rstd * gamma + beta over each row of [rows, columns]; saves mean and
    /// rstd ([rows] each) for the backward.
    public func layerNormForward(_ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int,
                                 epsilon: Float = 1e-5, output: BufferSlice, mean: BufferSlice, rstd: BufferSlice) throws {
        try transformerOperands(x, gamma, beta, output, mean, rstd)
        try transformerShape(rows >= 1 && columns >= 1 && x.count == rows * columns && output.count == x.count,
                             "layer norm: [\(rows), \(columns)] but x \(x.count), output \(output.count)")
        try transformerShape(gamma.count == columns && beta.count == columns && mean.count == rows && rstd.count == rows,
                             "layer norm: gamma \(gamma.count), beta \(beta.count) for \(columns) columns; mean \(mean.count), rstd \(rstd.count) for \(rows) rows")
        guard epsilon > 0 else { throw ComputeError.invalidArgument("layer norm epsilon must be > 0, got \(epsilon)") }
        try backend.layerNormForward(x, gamma: gamma, beta: beta, rows: rows, columns: columns, epsilon: epsilon,
                                     output: output, mean: mean, rstd: rstd)
    }

    /// Accumulates dx, dgamma and dbeta of `layerNormForward` given dy.
    public func layerNormBackward(_ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
                                  rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
                                  gammaGradient: BufferSlice, betaGradient: BufferSlice) throws {
        try transformerOperands(x, gamma, outputGradient, mean, rstd, inputGradient, gammaGradient, betaGradient)
        try transformerShape(rows >= 1 && columns >= 1 && x.count == rows * columns && outputGradient.count == x.count
                                && inputGradient.count == x.count,
                             "layer norm backward: [\(rows), \(columns)] but x \(x.count), dy \(outputGradient.count), dx \(inputGradient.count)")
        try transformerShape(gamma.count == columns && gammaGradient.count == columns && betaGradient.count == columns
                                && mean.count == rows && rstd.count == rows,
                             "layer norm backward: parameter or statistics sizes do not match [\(rows), \(columns)]")
        try backend.layerNormBackward(x, gamma: gamma, outputGradient: outputGradient, mean: mean, rstd: rstd, rows: rows,
                                      columns: columns, inputGradient: inputGradient, gammaGradient: gammaGradient,
                                      betaGradient: betaGradient)
    }

    /// Causal softmax over attention scores [rows, length], rows = batch*heads*length: row r
    /// attends to columns 0 ... r % length; the rest of the row is set to 0. x may be output.
    public func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        try transformerOperands(x, output)
        try transformerShape(length >= 1 && rows >= 1 && rows % length == 0 && x.count == rows * length && output.count == x.count,
                             "causal softmax: \(rows) rows of \(length) (rows must be a multiple of the length), x \(x.count)")
        try backend.softmaxCausal(x, output: output, rows: rows, length: length)
    }

    /// inputGradient = y * (dy - sum_c dy * y) per row, y the softmax output (sets, does not add).
    public func softmaxBackward(output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
                                inputGradient: BufferSlice) throws {
        try transformerOperands(output, outputGradient, inputGradient)
        try transformerShape(rows >= 1 && columns >= 1 && output.count == rows * columns && outputGradient.count == output.count
                                && inputGradient.count == output.count,
                             "softmax backward: [\(rows), \(columns)] but y \(output.count), dy \(outputGradient.count), dx \(inputGradient.count)")
        try backend.softmaxBackward(output: output, outputGradient: outputGradient, rows: rows, columns: columns,
                                    inputGradient: inputGradient)
    }

    private func transformerOperands(_ slices: BufferSlice...) throws {
        for slice in slices where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a transformer operand was not allocated by \(name)")
        }
    }

    private func transformerShape(_ condition: Bool, _ text: @autoclosure () -> String) throws {
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }
}
