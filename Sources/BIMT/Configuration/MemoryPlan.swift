import BIMTCompute
import Foundation

/// What a training run will hold on its device, worked out before anything is allocated:
/// the parameters, the optimizer state (gradient, AdamW's moments, a weight-decay mask), the
/// data on the device (the uploaded splits, or a token stream's batch and evaluation
/// windows) and the activations (the model's workspace for a micro-batch, and for the
/// evaluation chunks), in float32 elements. Small fixed buffers (the neurons' coordinates,
/// scalars) are left out.
public struct MemoryPlan: Sendable, Equatable, CustomStringConvertible {
    /// The model's parameters.
    public var parameters: Int
    /// Their gradient, AdamW's two moments and, with weight decay on matrices only, its mask.
    public var optimizerState: Int
    /// Data on the device: the training split (or a token stream's batch), the evaluation set,
    /// the mini-batch buffers.
    public var data: Int
    /// Forward and backward workspaces: one for a (micro-)batch, and the evaluation chunks'.
    public var activations: Int
    /// Bytes the device has.
    public var deviceBytes: Int
    /// The device's name, for messages.
    public var deviceName: String

    /// Bytes of the four parts together.
    public var totalBytes: Int { 4 * (parameters + optimizerState + data + activations) }

    public var description: String {
        func mib(_ floats: Int) -> String { String(format: "%.1f MiB", Double(4 * floats) / 1_048_576) }
        return
            "memory plan on \(deviceName): parameters \(mib(parameters)) (\(parameters) values), "
            + "optimizer state \(mib(optimizerState)), "
            + "data \(mib(data)), activations \(mib(activations)); "
            + "total \(mib(totalBytes / 4)) of \(mib(deviceBytes / 4))"
    }

    /// Throws when the plan needs more than the device has, naming the largest part and what lowers it.
    public func check() throws {
        guard totalBytes > deviceBytes else { return }
        let parts = [
            ("activations", activations, "batchSize (or more accumulationSteps), the context or the width"),
            ("data on the device", data, "evalBatches, or the data"),
            ("parameters and optimizer state", parameters + optimizerState, "the layers or the width"),
        ]
        let (name, _, lower) = parts.max { $0.1 < $1.1 }!
        throw BIMTError.invalidSetting(
            "the run needs \(totalBytes / 1_048_576) MiB on \(deviceName), which has \(deviceBytes / 1_048_576) MiB; "
                + "\(name) take the most: lower \(lower). \(description)")
    }
}

extension TrainingConfiguration {
    /// Validates this configuration, fits it to `data`, checks the data against it and plans
    /// its memory on `device`, without allocating: what a trainer does first, and what
    /// `--dry-run` prints. The plan is not checked against the device (`MemoryPlan.check`).
    /// With `ranks` processes sharing each batch, it is one rank's plan.
    public func prepared(
        for data: TaskData, on device: Device,
        ranks: Int = 1
    ) throws -> (configuration: TrainingConfiguration, plan: MemoryPlan) {
        try validate()
        let fitted = fitted(to: data)
        try fitted.check(data)
        try fitted.checkSizes(data: data)
        return (fitted, fitted.memoryPlan(data: data, device: device, ranks: ranks))
    }

    /// Checks, in floating point, that a batch's activations and the batches of data stay within
    /// `SizeLimits.values`, so that the plan (counted in integers) cannot overflow.
    func checkSizes(data: TaskData) throws {
        let o = options, rows = Double(o.batchSize ?? data.train.count)
        let perRow = Double(model.activationCount(rows: 1, inputWidth: data.train.inputWidth))
        try SizeLimits.requireValues(
            perRow * rows, "a batch's activations", field: "batchSize",
            lower: "batchSize (or raise accumulationSteps), the context or the width")
        let perExample =
            Double(data.train.inputWidth)
            + Double(data.train.targetsPerExample) * Double(data.train.outputWidth + 1)
        let evaluated = Double(o.evalBatches ?? 1) * rows
        try SizeLimits.requireValues(
            perExample * (rows + evaluated), "the training batch and the evaluation batches",
            field: "evalBatches", lower: "batchSize or evalBatches")
    }

    /// The memory plan of training this configuration on `data` (already fitted) on `device`,
    /// for one of `ranks` processes that share each batch (each holds its share of the batch,
    /// or of a full-batch run's training split, and the whole evaluation set).
    public func memoryPlan(data: TaskData, device: Device, ranks: Int = 1) -> MemoryPlan {
        let o = options, parameters = model.parameterCount
        let optimizer = 3 * parameters + (o.weightDecayScope == .matrices && o.weightDecay > 0 ? parameters : 0)
        let outputs = data.train.outputWidth, oneHot = o.loss == .mse
        func stored(_ split: Dataset, count: Int) -> Int {
            let targets = count * split.targetsPerExample
            return count * split.inputWidth
                + (split.isClassification ? targets * (1 + (oneHot ? outputs : 0)) : targets * outputs)
        }
        let windowed = data.train.windows != nil, ranks = max(1, ranks)
        let fullBatch = !windowed && (o.batchSize.map { $0 >= data.train.count } ?? true)
        var floats = windowed ? 0 : stored(data.train, count: fullBatch ? data.train.count / ranks : data.train.count)
        let evaluationCount: Int =
            if data.test.windows != nil {
                o.evalBatches.map { $0 * (o.batchSize ?? 1) } ?? (data.test.count + data.test.inputWidth - 1)
                    / data.test.inputWidth
            } else {
                o.evalBatches.map { min(data.test.count, $0 * (o.batchSize ?? 1)) } ?? data.test.count
            }
        floats += stored(data.test, count: evaluationCount)
        var trainingRows = data.train.count / ranks
        if let size = o.batchSize, !fullBatch {
            let share = size / ranks
            floats += stored(data.train, count: share) + share // the batch, and its row indices
            trainingRows = share
        }
        let micro = trainingRows / o.accumulationSteps, length = data.train.inputWidth
        let chunk = min(evaluationCount, o.evaluationRows(maximumRows: model.maximumRows, ranks: ranks))
        var activations = model.activationCount(rows: micro, inputWidth: length)
        if chunk != micro { activations += model.activationCount(rows: chunk, inputWidth: length) }
        let remainder = evaluationCount % max(1, chunk)
        if remainder > 0 && remainder != micro {
            activations += model.activationCount(rows: remainder, inputWidth: length)
        }
        if let a = model.transformerArchitecture {
            // Fused attention's scratch, shared by the layers and passes: sized for the largest pass.
            activations += device.fusedAttentionScratchCount(
                AttentionShape(
                    sequences: max(micro, chunk), length: length / a.valuesPerPosition,
                    heads: a.heads, headDimension: a.headDimension))
        }
        if (try? device.choosePrecision(o.precision))?.precision == .bf16 {
            // The largest product's operands as bf16 words (two per float), rounded per product.
            activations += (model.bf16OperandWords(rows: max(micro, chunk), inputWidth: length) + 1) / 2
        }
        return MemoryPlan(
            parameters: parameters, optimizerState: optimizer, data: floats, activations: activations,
            deviceBytes: device.memoryBytes, deviceName: device.name)
    }
}

extension ModelSpec {
    /// Parameters of the model, without building it.
    public var parameterCount: Int {
        switch self {
        case let .mlp(a): (try? a.spatialNetwork().parameterExtent) ?? 0
        case let .convNet(convolution, head):
            (try? ConvNet.spatialNetwork(convolution, head: head).parameterExtent) ?? 0
        case let .transformer(t): GPT.Views(t).count
        }
    }

    /// The most bf16 words one matrix product's two operands take (the copies a bf16 product
    /// rounds them into) in a forward and backward pass of `rows` examples: a linear map's
    /// input and weight, its output gradient and weight, or (the weight gradient) its output
    /// gradient and input.
    func bf16OperandWords(rows: Int, inputWidth: Int) -> Int {
        /// x [r, i] -> y [r, o] with W [o, i]: the largest of its three products.
        func linear(_ r: Int, _ i: Int, _ o: Int) -> Int { max(r * (i + o), r * i + o * i, r * o + o * i) }
        func dense(_ r: Int, _ widths: [Int]) -> Int {
            zip(widths, widths.dropFirst()).map { linear(r, $0, $1) }.max() ?? 0
        }
        switch self {
        case let .mlp(a):
            return dense(rows, a.widths)
        case let .convNet(c, head):
            let sizes = c.sizes
            var words = dense(rows, head.widths)
            for b in 0..<c.channels.count {
                let chunk = c.columnChunk(block: b, rows: rows), (h, w, _) = sizes[b]
                words = max(words, linear(chunk * h * w, c.columnsPerImage(block: b) / (h * w), c.channels[b]))
            }
            return words
        case let .transformer(a):
            let n = rows * (inputWidth / a.valuesPerPosition), d = a.width, hidden = a.mlpRatio * d
            return max(
                linear(n, d, 3 * d), linear(n, d, hidden), linear(n, hidden, d), linear(n, d, a.scoredOutputs),
                linear(n, a.inputWidth, d))
        }
    }

    /// Elements of the workspace a forward and backward pass of `rows` examples allocate
    /// (with the loss's output gradient; evaluation chunks get the same workspace).
    func activationCount(rows: Int, inputWidth: Int) -> Int {
        switch self {
        case let .mlp(a):
            return 4 * rows * a.widths.reduce(0, +) + rows * a.widths.last!
        case let .convNet(c, head):
            let sizes = c.sizes
            // Per block: its im2col columns when they fit the budget whole; else one chunk
            // scratch shared by the blocks; one column-gradient scratch (blocks after the
            // first) of a few images, cut to the column-gradient budget.
            var total = 0, chunkScratch = 0, gradientScratch = 0
            for b in 0..<c.channels.count {
                let (h, w, _) = sizes[b], o = c.channels[b], pixels = rows * h * w
                let chunk = c.columnChunk(block: b, rows: rows), chunkFloats = chunk * c.columnsPerImage(block: b)
                if chunk == rows { total += chunkFloats } else { chunkScratch = max(chunkScratch, chunkFloats) }
                if b > 0 {
                    gradientScratch = max(
                        gradientScratch, c.columnGradientChunk(block: b, chunk: chunk) * c.columnsPerImage(block: b))
                }
                // Preactivations (ReLU activates over them in place), activations, their gradient.
                total +=
                    (ConvNet.activatesInPlace(head.activation) ? 2 : 3) * pixels * o
                    + 2 * rows * sizes[b + 1].height * sizes[b + 1].width * o
            }
            total += chunkScratch + gradientScratch
            total += 4 * (1 + rows * head.widths.dropFirst().reduce(0, +))
            return total + rows * head.widths.last!
        case let .transformer(a):
            let length = inputWidth / a.valuesPerPosition, n = rows * length, d = a.width, hidden = a.mlpRatio * d
            // Fused attention keeps one log-sum-exp per (sequence, head, position) per layer; its
            // scratch (a block of query rows per core, or per sequence on OpenCL) is the backend's.
            let statistics = rows * a.heads * length, predicted = a.predictedPositions(length: length).count
            let norms = a.layerNorm ? a.layers * (2 * n * d + 4 * n) + n * d + 2 * n : 0
            var total =
                (2 * a.layers + 1) * n * d + norms
                + a.layers * (3 * n * d + statistics + n * d + 2 * n * hidden)
                + rows * predicted * a.scoredOutputs
                + (predicted == length ? 0 : rows * predicted * (d + 1))
                + 6 * n * d + 2 * n * hidden
            total += rows * predicted * a.scoredOutputs // the loss's output gradient
            return total
        }
    }
}
