import BIMTCompute
import Foundation

/// A split on the device, in the model's physical input/output order.
struct DeviceSplit {
    let count: Int
    let inputs: Buffer // [N, input width]
    let targets: Buffer? // [N, outputs]: regression values, or one-hot for MSE on classes
    let labels: Buffer? // [N] float-encoded physical class indices
    let logicalLabels: [Int]?
}

/// The task's data on the device, in the model's physical order: the training and evaluation
/// splits, each step's batch and the samplers that draw it, and the moves that keep the data's
/// columns and labels with input and output neurons that change places.
final class DeviceData {
    /// The data on the host.
    let task: TaskData
    let model: any TrainableModel
    var device: Device { model.device }
    /// Who takes which share of a batch.
    let agreement: DistributedAgreement
    /// The training split on the device (nil for a token stream, whose windows are drawn per batch).
    let train: DeviceSplit?
    /// The evaluation split on the device, and on the host.
    let test: DeviceSplit
    let evaluationData: Dataset
    /// The batch's order through the training examples (a mini-batch run sampling in epochs).
    var sampler: BatchSampler?
    /// Random window offsets of a token stream's training batches, or random examples of a
    /// run sampling with replacement.
    var windowSampler: WindowSampler?
    /// This rank's share of the step's batch (nil for a full-batch run).
    let batch: DeviceSplit?
    /// The mini-batch's example indices on the device: uploaded once per step, read by
    /// every gather of the batch.
    let batchIndices: Buffer?

    init(
        task: TaskData, options: TrainingOptions, model: any TrainableModel,
        agreement: DistributedAgreement
    ) throws {
        self.task = task
        self.model = model
        self.agreement = agreement
        let device = model.device, group = agreement.group, ranks = group?.size ?? 1
        let oneHot = options.loss == .mse
        if task.train.windows != nil || task.test.windows != nil {
            guard options.loss == .crossEntropy, options.batchSize != nil else {
                throw BIMTError.invalidField(
                    field: options.batchSize == nil ? "batchSize" : "loss",
                    reason: "a token stream trains with cross-entropy on batches of random "
                        + "windows; set a batch size")
            }
        }
        // A token stream's training windows are drawn per batch (never uploaded whole); its test
        // windows are fixed once: seeded offsets for `evalBatches`, else every context-th.
        // A full-batch run's ranks each hold their share of the training examples.
        let fullBatch = options.batchSize.map { $0 >= task.train.count } ?? true
        let trainShare =
            try group.map {
                fullBatch ? try task.train.rows($0.share(of: task.train.count)) : task.train
            } ?? task.train
        let train = task.train.windows == nil ? try Self.upload(trainShare, device: device, oneHot: oneHot) : nil
        self.train = train
        var evaluation = task.test
        if evaluation.windows != nil {
            let offsets =
                options.evalBatches.map { batches in
                    var sampler = WindowSampler(count: evaluation.count, seed: options.seed &+ 0xE7A1)
                    return sampler.next(batches * options.batchSize!)
                } ?? Array(stride(from: 0, to: evaluation.count, by: evaluation.inputWidth))
            evaluation = try evaluation.materialized(at: offsets)
        } else if let batches = options.evalBatches, let size = options.batchSize {
            evaluation = try evaluation.prefix(batches * size)
        }
        test = try Self.upload(evaluation, device: device, oneHot: oneHot)
        evaluationData = evaluation
        let perExample = task.train.targetsPerExample
        if task.train.windows != nil, let global = options.batchSize {
            let size = global / ranks
            windowSampler = WindowSampler(count: task.train.count, seed: options.seed &+ 0xBA7C)
            batch = DeviceSplit(
                count: size, inputs: try device.makeBuffer(count: size * task.train.inputWidth),
                targets: nil, labels: try device.makeBuffer(count: size * perExample),
                logicalLabels: nil)
            batchIndices = nil
        } else if let train, let global = options.batchSize, global < task.train.count {
            // Every rank draws the whole batch from the same sampler and takes its share.
            let size = global / ranks
            switch options.batchSampling {
            case .epochs:
                sampler = BatchSampler(
                    count: task.train.count, batchSize: global,
                    seed: options.seed &+ 0xBA7C)
            case .replacement:
                windowSampler = WindowSampler(
                    count: task.train.count,
                    seed: options.seed &+ 0xBA7C)
            }
            batch = DeviceSplit(
                count: size, inputs: try device.makeBuffer(count: size * task.train.inputWidth),
                targets: train.targets == nil
                    ? nil
                    : try device.makeBuffer(count: size * perExample * task.train.outputWidth),
                labels: train.labels == nil ? nil : try device.makeBuffer(count: size * perExample),
                logicalLabels: nil)
            batchIndices = try device.makeBuffer(count: size)
        } else {
            batch = nil
            batchIndices = nil
        }
    }

    static func upload(_ data: Dataset, device: Device, oneHot: Bool) throws -> DeviceSplit {
        let inputs = try device.makeBuffer(data.inputs)
        switch data.targets {
        case let .regression(values, _):
            return DeviceSplit(
                count: data.count, inputs: inputs, targets: try device.makeBuffer(values), labels: nil,
                logicalLabels: nil)
        case let .classification(labels, classes):
            var targets: Buffer?
            if oneHot {
                var hot = [Float](repeating: 0, count: labels.count * classes)
                for (i, label) in labels.enumerated() { hot[i * classes + label] = 1 }
                targets = try device.makeBuffer(hot)
            }
            return DeviceSplit(
                count: data.count, inputs: inputs, targets: targets,
                labels: try device.makeBuffer(labels.map(Float.init)), logicalLabels: labels)
        }
    }

    /// The next step's batch on the device: this rank's share of a globally drawn batch, or the
    /// whole training split (this rank's share of it) for a full-batch run.
    func nextBatch() throws -> DeviceSplit {
        let perExample = task.train.targetsPerExample, ranks = agreement.group?.size ?? 1
        if let batch, task.train.windows != nil, var windowSampler {
            let drawn = windowSampler.next(batch.count * ranks)
            let (inputs, labels) = task.train.windowBatch(at: agreement.share(of: drawn))
            self.windowSampler = windowSampler
            try device.write(inputs, to: batch.inputs.whole)
            try device.write(labels, to: batch.labels!.whole)
            return batch
        } else if let batch, let batchIndices, let train, sampler != nil || windowSampler != nil {
            // In range by construction (a resumed sampler was checked against the data).
            let drawn = sampler?.next() ?? windowSampler!.next(batch.count * ranks)
            let indices = agreement.share(of: drawn).map(Float.init)
            try device.write(indices, to: batchIndices.whole)
            try device.gatherRows(
                source: train.inputs.whole, columns: task.train.inputWidth,
                deviceIndices: batchIndices.whole, into: batch.inputs.whole)
            if let targets = train.targets {
                try device.gatherRows(
                    source: targets.whole, columns: perExample * model.outputWidth,
                    deviceIndices: batchIndices.whole, into: batch.targets!.whole)
            }
            if let labels = train.labels {
                try device.gatherRows(
                    source: labels.whole, columns: perExample, deviceIndices: batchIndices.whole,
                    into: batch.labels!.whole)
            }
            return batch
        }
        return train!
    }

    /// Moves the data's columns (and relabels classes) with the input and output neurons that
    /// changed places between the arrangements `before` and `after` (the model's now), so the
    /// network keeps seeing the same examples.
    func move(from before: [[Int]], to after: [[Int]]) throws {
        try move(
            inputDelta: Self.delta(from: before.first!, to: after.first!),
            outputDelta: Self.delta(from: before.last!, to: after.last!))
    }

    /// The gather (new position s <- old position delta[s]) that turns `old` into `new`; nil if equal.
    static func delta(from old: [Int], to new: [Int]) -> [Int]? {
        guard old != new else { return nil }
        var position = [Int](repeating: 0, count: old.count)
        for (s, logical) in old.enumerated() { position[logical] = s }
        return new.map { position[$0] }
    }

    func move(inputDelta: [Int]?, outputDelta: [Int]?) throws {
        for split in [train, test].compactMap({ $0 }) {
            if let inputDelta, model.embedding == nil {
                try device.permute(
                    split.inputs.whole, rows: split.count, columns: inputDelta.count,
                    permutation: inputDelta, alongRows: false)
            }
            if let outputDelta {
                if let targets = split.targets {
                    try device.permute(
                        targets.whole, rows: split.count, columns: outputDelta.count,
                        permutation: outputDelta, alongRows: false)
                }
                if let labels = split.labels, let logical = split.logicalLabels {
                    var physical = [Int](repeating: 0, count: outputDelta.count)
                    for (s, logicalClass) in model.network.outputPermutation.enumerated() { physical[logicalClass] = s }
                    try device.write(logical.map { Float(physical[$0]) }, to: labels.whole)
                }
            }
        }
    }
}
