import BIMTCompute
import Foundation

/// Evaluation on the test split, and the device-side check that training is still finite.
extension Trainer {
    /// Test loss and accuracy over the whole test split, in chunks of at most the model's
    /// `evaluationRows` rows: a mini-batch run evaluates in chunks of its (micro-)batch and so
    /// reuses the training workspace; a full-batch run in chunks of the model's `maximumRows`
    /// (a conv net's activations for 10000 images would not fit).
    public func evaluate() throws -> (loss: Double, accuracy: Double?) {
        let result = try evaluateWithLast()
        return (result.loss, result.accuracy)
    }

    /// `evaluate`, and for MSE with several targets per sequence the MSE of the last one.
    public func evaluateWithLast() throws -> (loss: Double, accuracy: Double?, lastLoss: Double?) {
        let saved = try device.read(stepper.accumulators.all)
        let test = deviceData.test, evaluationData = deviceData.evaluationData
        var loss = 0.0, correct = 0.0, lastSquares = 0.0
        // A data-parallel run evaluates a share of the test split on each rank and adds up.
        let mine = processGroup.map { $0.share(of: test.count) } ?? 0..<test.count
        var start = mine.lowerBound
        let perExample = evaluationData.targetsPerExample, outputs = model.outputWidth
        let lastValues: [Float]? =
            if options.loss == .mse, perExample > 1, case let .regression(values, _) = evaluationData.targets {
                values
            } else {
                nil
            }
        while start < mine.upperBound {
            let rows = min(evaluationRows, mine.upperBound - start)
            try device.fill(stepper.accumulators.all, value: 0)
            let chunk = DeviceSplit(
                count: rows, inputs: test.inputs, targets: test.targets, labels: test.labels, logicalLabels: nil)
            let inputs = test.inputs.slice(
                offset: start * evaluationData.inputWidth, count: rows * evaluationData.inputWidth)
            let output = try model.forward(input: inputs, rows: rows)
            _ = try stepper.loss(
                output, split: chunk, rows: rows * perExample, countCorrect: true,
                first: start * perExample)
            let values = try stepper.accumulators.read(on: device)
            loss += Double(values.loss) * Double(rows)
            correct += Double(values.correct)
            if let lastValues {
                // Sequence models keep their outputs in place (no output swaps): compare the last
                // predicted position's outputs with its targets on the host.
                let predicted = try device.read(output)
                for r in 0..<rows {
                    let at = ((r + 1) * perExample - 1) * outputs, target = ((start + r + 1) * perExample - 1) * outputs
                    for o in 0..<outputs { lastSquares += pow(Double(predicted[at + o] - lastValues[target + o]), 2) }
                }
            }
            start += rows
        }
        try device.write(saved, to: stepper.accumulators.all)
        if let group = processGroup, group.size > 1 {
            let sums = try group.sum([loss, correct, lastSquares], "the evaluation at step \(step)")
            (loss, correct, lastSquares) = (sums[0], sums[1], sums[2])
        }
        return (
            loss / Double(test.count), test.labels == nil ? nil : correct / Double(test.count * perExample),
            lastValues == nil ? nil : lastSquares / Double(test.count * outputs)
        )
    }

    /// Rows per evaluation chunk (`TrainingOptions.evaluationRows`).
    var evaluationRows: Int { options.evaluationRows(maximumRows: model.maximumRows, ranks: processGroup?.size ?? 1) }

    static let finiteColumns = 1024

    /// Throws `BIMTError.diverged` when the parameters or AdamW moments hold a NaN or an
    /// infinity. On the device: column sums of each buffer seen as [rows, 1024] (plus its
    /// tail) propagate any non-finite value; only those sums come back.
    public func requireFinite() throws {
        let columns = Self.finiteColumns
        let tensors = [
            ("the parameters", model.parameters), ("AdamW's first moments", model.firstMoments),
            ("AdamW's second moments", model.secondMoments),
        ]
        // Each buffer's column sums (and its tail's) into its own 2 x 1024 block; one read.
        for (t, (_, buffer)) in tensors.enumerated() {
            let rows = buffer.count / columns, tail = buffer.count - rows * columns, block = 2 * columns * t
            try device.fill(finiteScratch.slice(offset: block, count: 2 * columns), value: 0)
            if rows > 0 {
                try device.sumColumns(
                    buffer.slice(offset: 0, count: rows * columns), rows: rows, columns: columns,
                    into: finiteScratch.slice(offset: block, count: columns))
            }
            if tail > 0 {
                try device.sumColumns(
                    buffer.slice(offset: rows * columns, count: tail), rows: 1, columns: tail,
                    into: finiteScratch.slice(offset: block + columns, count: tail))
            }
        }
        let sums = try device.read(finiteScratch.whole)
        for (t, (name, _)) in tensors.enumerated()
        where !sums[(2 * columns * t)..<(2 * columns * (t + 1))].allSatisfy(\.isFinite) {
            throw BIMTError.diverged(what: name, step: step)
        }
    }
}
