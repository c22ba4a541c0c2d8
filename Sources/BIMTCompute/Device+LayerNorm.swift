/// LayerNorm over the rows of a matrix and its backward (Kernels/layernorm.cl).
extension Device {
    /// y = (x - mean) * rstd * gamma + beta over each row of [rows, columns]; saves mean and
    /// rstd ([rows] each) for the backward.
    public func layerNormForward(
        _ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int,
        epsilon: Float = 1e-5, output: BufferSlice, mean: BufferSlice, rstd: BufferSlice
    ) throws {
        try transformerOperands(x, gamma, beta, output, mean, rstd)
        try transformerShape(
            rows >= 1 && columns >= 1 && x.count == rows * columns && output.count == x.count,
            "layer norm: [\(rows), \(columns)] but x \(x.count), output \(output.count)")
        try transformerShape(
            gamma.count == columns && beta.count == columns && mean.count == rows && rstd.count == rows,
            "layer norm: gamma \(gamma.count), beta \(beta.count) for \(columns) columns; "
                + "mean \(mean.count), rstd \(rstd.count) for \(rows) rows"
        )
        guard epsilon > 0 else { throw ComputeError.invalidArgument("layer norm epsilon must be > 0, got \(epsilon)") }
        try backend.layerNormForward(
            x, gamma: gamma, beta: beta, rows: rows, columns: columns, epsilon: epsilon,
            output: output, mean: mean, rstd: rstd)
    }

    /// Accumulates dx, dgamma and dbeta of `layerNormForward` given dy.
    public func layerNormBackward(
        _ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
        rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
        gammaGradient: BufferSlice, betaGradient: BufferSlice
    ) throws {
        try transformerOperands(x, gamma, outputGradient, mean, rstd, inputGradient, gammaGradient, betaGradient)
        try transformerShape(
            rows >= 1 && columns >= 1 && x.count == rows * columns && outputGradient.count == x.count
                && inputGradient.count == x.count,
            "layer norm backward: [\(rows), \(columns)] but x \(x.count), "
                + "dy \(outputGradient.count), dx \(inputGradient.count)"
        )
        try transformerShape(
            gamma.count == columns && gammaGradient.count == columns && betaGradient.count == columns
                && mean.count == rows && rstd.count == rows,
            "layer norm backward: parameter or statistics sizes do not match [\(rows), \(columns)]")
        try backend.layerNormBackward(
            x, gamma: gamma, outputGradient: outputGradient, mean: mean, rstd: rstd, rows: rows,
            columns: columns, inputGradient: inputGradient, gammaGradient: gammaGradient,
            betaGradient: betaGradient)
    }
}
