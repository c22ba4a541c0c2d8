/// Token embeddings with folds and their backward (Kernels/embedding.cl). Tokens are
/// float-encoded integers whose range the caller checks once, when it makes them.
extension Device {
    /// output[r, t*dimension + c] = table[tokens[r, t], c] for tokens [rows, folds].
    public func embeddingForward(
        tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
        output: BufferSlice
    ) throws {
        try require(tokens, table, output)
        try check(
            rows >= 1 && folds >= 1 && dimension >= 1,
            "embedding: rows \(rows), folds \(folds), dimension \(dimension)")
        try check(tokens.count == rows * folds, "embedding: \(tokens.count) tokens for [\(rows), \(folds)]")
        try check(
            table.count % dimension == 0,
            "embedding: a table of \(table.count) is not a multiple of dimension \(dimension)")
        try check(
            output.count == rows * folds * dimension,
            "embedding: output \(output.count) for [\(rows), \(folds * dimension)]")
        try backend.embeddingForward(
            tokens: tokens, table: table, rows: rows, folds: folds, dimension: dimension,
            output: output)
    }

    /// tableGradient[v, c] += the output gradients of every (row, fold) whose token is v.
    public func embeddingBackward(
        tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int,
        dimension: Int, vocabulary: Int, tableGradient: BufferSlice
    ) throws {
        try require(tokens, outputGradient, tableGradient)
        try check(rows >= 1 && folds >= 1 && dimension >= 1 && vocabulary >= 1, "embedding backward: bad sizes")
        try check(tokens.count == rows * folds, "embedding backward: \(tokens.count) tokens for [\(rows), \(folds)]")
        try check(
            outputGradient.count == rows * folds * dimension,
            "embedding backward: gradient \(outputGradient.count)")
        try check(
            tableGradient.count == vocabulary * dimension,
            "embedding backward: table gradient \(tableGradient.count) for [\(vocabulary), \(dimension)]")
        try backend.embeddingBackward(
            tokens: tokens, outputGradient: outputGradient, rows: rows, folds: folds,
            dimension: dimension, vocabulary: vocabulary, tableGradient: tableGradient)
    }
}
