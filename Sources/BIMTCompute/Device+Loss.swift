/// Task losses (Kernels/loss.cl). A loss adds its value into a one-element device
/// accumulator, so nothing returns to the host until a log interval reads it.
///
/// Labels are float-encoded integers (exact below 2^24). Their range is the caller's to
/// check, once, when the data are made (`Dataset` does): a kernel does not re-check them
/// every step.
extension Device {
    /// loss[0] += mean((output - target)^2); outputGradient = 2 (output - target) / n.
    public func mseLoss(
        output: BufferSlice, target: BufferSlice, outputGradient: BufferSlice,
        loss: BufferSlice
    ) throws {
        try require(output, target, outputGradient, loss)
        try check(
            output.count == target.count && output.count == outputGradient.count,
            "MSE: output \(output.count), target \(target.count), gradient \(outputGradient.count) elements")
        try check(loss.count == 1, "MSE: the loss accumulator must be 1 element")
        try backend.mseLoss(output: output, target: target, outputGradient: outputGradient, loss: loss)
    }

    /// Softmax cross-entropy of [rows, columns] logits against class labels [rows]:
    /// loss[0] += mean over rows; correct[0] += rows whose first argmax is the label;
    /// logitGradient = (softmax - onehot) / rows.
    public func crossEntropy(
        logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int,
        logitGradient: BufferSlice, loss: BufferSlice, correct: BufferSlice
    ) throws {
        try require(logits, labels, logitGradient, loss, correct)
        try check(rows >= 1 && columns >= 1, "cross-entropy: [\(rows), \(columns)] logits")
        try check(
            logits.count == rows * columns && logitGradient.count == rows * columns,
            "cross-entropy: logits \(logits.count) and gradient \(logitGradient.count) elements "
                + "for [\(rows), \(columns)]")
        try check(labels.count == rows, "cross-entropy: \(labels.count) labels for \(rows) rows")
        try check(loss.count == 1 && correct.count == 1, "cross-entropy: accumulators must be 1 element")
        try backend.crossEntropy(
            logits: logits, labels: labels, rows: rows, columns: columns,
            logitGradient: logitGradient, loss: loss, correct: correct)
    }
}
