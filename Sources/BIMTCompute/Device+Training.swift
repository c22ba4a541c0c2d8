/// Loss functions, embeddings and batch gathers: what a training step needs beyond the
/// pointwise operations. Losses add their value into a one-element device accumulator, so
/// nothing returns to the host until a log interval reads it.
///
/// Labels and tokens are float-encoded integers (exact below 2^24). Their range is the
/// caller's to check, once, when the data are made (`Dataset` does): a kernel does not
/// re-check them every step.
extension Device {
    /// loss[0] += mean((output - target)^2); outputGradient = 2 (output - target) / n.
    public func mseLoss(output: BufferSlice, target: BufferSlice, outputGradient: BufferSlice, loss: BufferSlice) throws {
        try require(output, target, outputGradient, loss)
        try check(output.count == target.count && output.count == outputGradient.count,
                  "MSE: output \(output.count), target \(target.count), gradient \(outputGradient.count) elements")
        try check(loss.count == 1, "MSE: the loss accumulator must be 1 element")
        try backend.mseLoss(output: output, target: target, outputGradient: outputGradient, loss: loss)
    }

    /// Softmax cross-entropy of [rows, columns] logits against class labels [rows]:
    /// loss[0] += mean over rows; correct[0] += rows whose first argmax is the label;
    /// logitGradient = (softmax - onehot) / rows.
    public func crossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int,
                             logitGradient: BufferSlice, loss: BufferSlice, correct: BufferSlice) throws {
        try require(logits, labels, logitGradient, loss, correct)
        try check(rows >= 1 && columns >= 1, "cross-entropy: [\(rows), \(columns)] logits")
        try check(logits.count == rows * columns && logitGradient.count == rows * columns,
                  "cross-entropy: logits \(logits.count) and gradient \(logitGradient.count) elements for [\(rows), \(columns)]")
        try check(labels.count == rows, "cross-entropy: \(labels.count) labels for \(rows) rows")
        try check(loss.count == 1 && correct.count == 1, "cross-entropy: accumulators must be 1 element")
        try backend.crossEntropy(logits: logits, labels: labels, rows: rows, columns: columns,
                                 logitGradient: logitGradient, loss: loss, correct: correct)
    }

    /// output[r, t*dimension + c] = table[tokens[r, t], c] for tokens [rows, folds].
    public func embeddingForward(tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
                                 output: BufferSlice) throws {
        try require(tokens, table, output)
        try check(rows >= 1 && folds >= 1 && dimension >= 1, "embedding: rows \(rows), folds \(folds), dimension \(dimension)")
        try check(tokens.count == rows * folds, "embedding: \(tokens.count) tokens for [\(rows), \(folds)]")
        try check(table.count % dimension == 0, "embedding: a table of \(table.count) is not a multiple of dimension \(dimension)")
        try check(output.count == rows * folds * dimension, "embedding: output \(output.count) for [\(rows), \(folds * dimension)]")
        try backend.embeddingForward(tokens: tokens, table: table, rows: rows, folds: folds, dimension: dimension,
                                     output: output)
    }

    /// tableGradient[v, c] += the output gradients of every (row, fold) whose token is v.
    public func embeddingBackward(tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int,
                                  dimension: Int, vocabulary: Int, tableGradient: BufferSlice) throws {
        try require(tokens, outputGradient, tableGradient)
        try check(rows >= 1 && folds >= 1 && dimension >= 1 && vocabulary >= 1, "embedding backward: bad sizes")
        try check(tokens.count == rows * folds, "embedding backward: \(tokens.count) tokens for [\(rows), \(folds)]")
        try check(outputGradient.count == rows * folds * dimension, "embedding backward: gradient \(outputGradient.count)")
        try check(tableGradient.count == vocabulary * dimension,
                  "embedding backward: table gradient \(tableGradient.count) for [\(vocabulary), \(dimension)]")
        try backend.embeddingBackward(tokens: tokens, outputGradient: outputGradient, rows: rows, folds: folds,
                                      dimension: dimension, vocabulary: vocabulary, tableGradient: tableGradient)
    }

    /// destination row i = source row indices[i] (a mini-batch from a dataset on the device).
    public func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        try require(source, destination)
        try check(columns >= 1 && source.count % columns == 0, "gather: a source of \(source.count) is not rows of \(columns)")
        try check(destination.count == indices.count * columns,
                  "gather: destination \(destination.count) for \(indices.count) rows of \(columns)")
        let rows = source.count / columns
        guard indices.allSatisfy({ $0 >= 0 && $0 < rows }) else {
            throw ComputeError.invalidArgument("gather: an index is outside the source's \(rows) rows")
        }
        guard !indices.isEmpty else { return }
        try backend.gatherRows(source: source, columns: columns, indices: indices, into: destination)
    }

    /// The same with the row indices already on the device (float-encoded, as labels are):
    /// no upload, so a model can gather fixed rows every step. Their range is the caller's
    /// to check once, when it makes them.
    public func gatherRows(source: BufferSlice, columns: Int, deviceIndices: BufferSlice, into destination: BufferSlice) throws {
        try require(source, deviceIndices, destination)
        try check(columns >= 1 && source.count % columns == 0, "gather: a source of \(source.count) is not rows of \(columns)")
        try check(destination.count == deviceIndices.count * columns,
                  "gather: destination \(destination.count) for \(deviceIndices.count) rows of \(columns)")
        guard deviceIndices.count > 0 else { return }
        try backend.gatherRows(source: source, columns: columns, deviceIndices: deviceIndices, into: destination)
    }

    private func require(_ slices: BufferSlice...) throws {
        for slice in slices where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a training operand was not allocated by \(name)")
        }
    }

    private func check(_ condition: Bool, _ text: @autoclosure () -> String) throws {
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }
}
