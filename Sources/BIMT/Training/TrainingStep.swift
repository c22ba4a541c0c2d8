import BIMTCompute
import Foundation

/// One optimizer step on the device: forward and backward over the batch's micro-batches with
/// their loss, the gradient exchange of a data-parallel run, the connection cost
/// and its gradient, clipping and AdamW. At a log step the loss, hits and cost come back to the
/// host; nothing else does.
final class TrainingStep {
    let model: any TrainableModel
    let options: TrainingOptions
    var device: Device { model.device }
    /// Columns of an input row, and targets per example, of the training data.
    let inputWidth: Int
    let targetsPerExample: Int
    /// The loss, hits, cost and gradient norm the step sums on the device.
    let accumulators: Accumulators
    /// 1 where weight decay applies, 0 elsewhere (nil: everywhere).
    let decayMask: Buffer?
    /// Whether biases pay the connection cost when the options set no `biasPenaltyFrom` (the model's
    /// cost setting, read before the first step changes it).
    let penalizesBiasesByDefault: Bool
    /// Sums the gradients over the run's processes (nil without other ranks).
    let exchange: GradientExchange?
    /// What sets this rank's dropout masks apart (0 alone, and on rank 0).
    let rankKey: UInt64
    /// dLoss/dOutput (and the MSE classifier's unused cross-entropy gradient), by row count.
    var outputGradients: [Int: Buffer] = [:]
    var scratchGradients: [Int: Buffer] = [:]

    /// A step of `model` as `options` say, on batches of `training`'s shape, over `group`'s ranks.
    init(
        model: any TrainableModel, options: TrainingOptions, training: Dataset,
        group: (any ProcessGroup)?
    ) throws {
        self.model = model
        self.options = options
        inputWidth = training.inputWidth
        targetsPerExample = training.targetsPerExample
        penalizesBiasesByDefault = model.geometry.settings.penalizeBiases
        let device = model.device, gradients = model.gradients
        accumulators = try Accumulators(device: device)
        if options.weightDecayScope == .matrices && options.weightDecay > 0 {
            var mask = [Float](repeating: 0, count: model.parameterCount)
            for range in model.matrixRanges { for i in range { mask[i] = 1 } }
            decayMask = try device.makeBuffer(mask)
        } else {
            decayMask = nil
        }
        exchange = try group.flatMap {
            $0.size > 1 ? try GradientExchange(group: $0, device: device, gradients: gradients) : nil
        }
        rankKey = UInt64(group.map { $0.size > 1 ? $0.rank : 0 } ?? 0) << 40
    }

    func outputGradient(rows: Int) throws -> Buffer { try buffer(rows: rows, in: &outputGradients) }

    func scratchGradient(rows: Int) throws -> Buffer { try buffer(rows: rows, in: &scratchGradients) }

    /// `cache`'s [rows, outputs] buffer, made on first use.
    private func buffer(rows: Int, in cache: inout [Int: Buffer]) throws -> Buffer {
        if let buffer = cache[rows] { return buffer }
        let buffer = try device.makeBuffer(count: rows * model.outputWidth)
        cache[rows] = buffer
        return buffer
    }

    /// Loss (and accuracy count) of `output` into `accumulators.loss` and `.correct`; leaves
    /// dLoss/dOutput in the returned buffer.
    func loss(
        _ output: BufferSlice, split: DeviceSplit, rows: Int, countCorrect: Bool,
        first: Int = 0
    ) throws -> Buffer {
        let gradient = try outputGradient(rows: rows), outputs = model.outputWidth
        let targets = split.targets.map { $0.slice(offset: first * outputs, count: rows * outputs) }
        let labels = split.labels.map { $0.slice(offset: first, count: rows) }
        let loss = accumulators.loss, correct = accumulators.correct
        switch options.loss {
        case .mse:
            try device.mseLoss(output: output, target: targets!, outputGradient: gradient.whole, loss: loss)
            if countCorrect, let labels {
                // Accuracy of an MSE-to-one-hot classifier: argmax against the labels, through the
                // cross-entropy kernel into scratch (its gradient is not used).
                let scratch = try scratchGradient(rows: rows)
                try device.crossEntropy(
                    logits: output, labels: labels, rows: rows, columns: outputs,
                    logitGradient: scratch.whole, loss: accumulators.scratchLoss,
                    correct: correct)
            }
        case .crossEntropy:
            try device.crossEntropy(
                logits: output, labels: labels!, rows: rows, columns: outputs,
                logitGradient: gradient.whole, loss: loss, correct: correct)
        }
        return gradient
    }

    /// Takes optimizer step `step` (counted from 0; AdamW counts it from 1) on `split`, this
    /// rank's share of the batch. With `logging` it returns this rank's loss (the mean over the
    /// micro-batches), hits and connection cost; else nil.
    func take(_ step: Int, on split: DeviceSplit, logging: Bool) throws -> Accumulators.Values? {
        if logging { try device.fill(accumulators.all, value: 0) }
        try device.fill(model.gradients.whole, value: 0)
        let parts = options.accumulationSteps, rows = split.count / parts
        let width = inputWidth, perExample = targetsPerExample
        for part in 0..<parts {
            // Micro-batch `part`: its rows of the batch. Each loss is the mean over its rows, so the
            // summed gradients are scaled by 1 / parts below, and the logged loss and hits summed.
            let inputs = split.inputs.slice(offset: part * rows * width, count: rows * width)
            // Dropout masks drawn from (seed, step, micro-batch): a resumed run draws the same ones.
            // Each rank of a data-parallel run draws its own (rank 0 the one-process run's masks).
            var generator = SeededGenerator(
                seed: (options.seed &* 0x9E37_79B9_7F4A_7C15)
                    ^ UInt64(step &* 64 &+ part) ^ rankKey)
            model.setDropoutKey(generator.next())
            let output = try model.forward(input: inputs, rows: rows)
            let gradient = try loss(
                output, split: split, rows: rows * perExample, countCorrect: logging,
                first: part * rows * perExample)
            if let exchange, part == parts - 1 {
                // The last micro-batch makes the gradients final: buckets start as they are done.
                exchange.begin()
                try model.backward(input: inputs, rows: rows, outputGradient: gradient.whole) {
                    try exchange.ready(from: $0)
                }
            } else {
                try model.backward(input: inputs, rows: rows, outputGradient: gradient.whole)
            }
        }
        model.setDropoutKey(nil)
        try exchange?.finish() // the mean over the ranks (before the connection cost, which every rank adds once)
        if parts > 1 { try device.scale(model.gradients.whole, by: 1 / Float(parts)) }
        let lambda = options.lambda(at: step)
        model.geometry.settings.penalizeBiases = options.penalizesBiases(at: step, otherwise: penalizesBiasesByDefault)
        if lambda > 0 || logging {
            try model.geometry.connectionCost(
                parameters: model.parameters.whole,
                gradient: lambda > 0 ? model.gradients.whole : nil,
                lambda: lambda, cost: accumulators.cost)
        }
        var clipping: GradientClipping?
        if let maximumNorm = options.gradientClip {
            // The whole gradient's squared norm stays on the device, where AdamW reads it.
            try device.squaredNorm(model.gradients.whole, into: accumulators.squaredGradientNorm)
            clipping = GradientClipping(maximumNorm: maximumNorm, normSquared: accumulators.squaredGradientNorm)
        }
        try device.adamW(
            AdamWHyperparameters(
                learningRate: options.learningRate(at: step), beta1: options.beta1,
                beta2: options.beta2, weightDecay: options.weightDecay),
            step: step + 1, parameters: model.parameters.whole, gradients: model.gradients.whole,
            firstMoments: model.firstMoments.whole, secondMoments: model.secondMoments.whole,
            clipping: clipping, decayMask: decayMask?.whole)
        guard logging else { return nil }
        var values = try accumulators.read(on: device)
        // The loss kernels add each micro-batch's mean loss and hits into the same slots.
        if parts > 1 { values.loss /= Float(parts) }
        return values
    }
}
