import BIMTCompute
import Foundation

/// Trains a model with BIMT: forward, loss, backward, the fused penalty, AdamW, and a
/// relocation every `swapEvery` steps, all on the model's device. Only losses and metrics
/// come back to the host, at log intervals.
public final class Trainer {
    /// How the model is trained.
    public let options: TrainingOptions
    /// The configuration the trainer was built from (nil when a program built it from a
    /// model of its own: such a run writes no config.json and cannot be resumed by the CLI).
    public let configuration: TrainingConfiguration?
    /// The data (on the host; the trainer holds a copy on the device).
    public let task: TaskData
    /// The model being trained.
    public let model: any TrainableModel
    /// The model's device.
    public let device: Device
    /// Where metrics and checkpoints go (nil: nowhere).
    public var runDirectory: URL? { resumedDirectory ?? initialDirectory }
    let initialDirectory: URL?
    var resumedDirectory: URL?
    /// Steps done.
    public internal(set) var step = 0
    var elapsed = 0.0
    /// Whether biases pay the penalty when the options set no `biasPenaltyFrom` (the model's cost setting).
    let penalizesBiasesByDefault: Bool
    /// The data on the device, and the batches drawn from them.
    let deviceData: DeviceData
    /// When the run relocates.
    let schedule: RelocationSchedule
    /// The data's counts and hash, as checkpoints record them (computed at the first checkpoint).
    public private(set) lazy var dataFingerprint = DataFingerprint(task, values: configuration?.task.readsFiles ?? true)
    /// The lowest test loss of a log step so far (`best.safetensors` holds its weights).
    var bestTestLoss = Double.infinity
    /// The loss, hits, cost and gradient norm the step sums on the device.
    let accumulators: Accumulators
    /// 1 where weight decay applies, 0 elsewhere (nil: everywhere).
    let decayMask: Buffer?
    var outputGradients: [Int: Buffer] = [:]
    var scratchGradients: [Int: Buffer] = [:]
    var metricsFile: FileHandle?
    /// Column sums of the finiteness check (`requireFinite`): 2 x 1024 per checked buffer.
    let finiteScratch: Buffer
    /// What the run holds on its device, planned before allocating (nil when built from a model).
    public internal(set) var memoryPlan: MemoryPlan?
    /// Whether the last `run` stopped early on `shouldStop`.
    public private(set) var interrupted = false
    /// The processes of a data-parallel run (nil: this process alone). Each takes its share
    /// of every batch; gradients are averaged over them; rank 0 writes the files.
    public let processGroup: (any ProcessGroup)?
    /// Sums the gradients over `processGroup` (nil without one).
    let exchange: GradientExchange?
    /// What the ranks of `processGroup` agree on: batch shares, relocations, stops, state.
    let agreement: DistributedAgreement

    /// A fresh run: builds the task, the model (seeded PyTorch-style initialization) and,
    /// when `runDirectory` is given, writes `config.json` and starts `metrics.csv` there.
    /// With a `processGroup` this process trains its share of each batch; only rank 0
    /// writes to `runDirectory`.
    public convenience init(configuration: TrainingConfiguration, device: Device, runDirectory: URL?,
                            processGroup: (any ProcessGroup)? = nil) throws {
        try configuration.validate()
        try self.init(configuration: configuration, data: try configuration.makeTask(), device: device, runDirectory: runDirectory,
                      processGroup: processGroup)
    }

    /// A fresh run on data a program holds in memory (the configuration's `task` is then
    /// only a label): the model is built from the configuration and checked against the
    /// data's widths, vocabulary and targets before anything is allocated on the device.
    public convenience init(configuration: TrainingConfiguration, data: TaskData, device: Device, runDirectory: URL?,
                            processGroup: (any ProcessGroup)? = nil) throws {
        let (configuration, plan) = try configuration.prepared(for: data, on: device, ranks: processGroup?.size ?? 1)
        try plan.check()
        try configuration.options.checkSplit(over: processGroup?.size ?? 1, trainingExamples: data.train.count,
                                             windowed: data.train.windows != nil)
        let model = try configuration.model.makeModel(cost: configuration.cost, relocationCost: configuration.relocationCost,
                                                      swapInputs: configuration.swapInputs, device: device)
        try model.initialize(seed: configuration.seed)
        try self.init(model: model, data: data, options: configuration.options, configuration: configuration, runDirectory: runDirectory,
                      group: processGroup)
        memoryPlan = plan
    }

    /// Trains a model a program built (any `TrainableModel`, initialized as it likes) on
    /// in-memory data, on the model's device. The model's costs are those it was built with;
    /// `options` say how to train. The data are checked against the model first. With a
    /// `runDirectory` the run writes metrics.csv and checkpoints there (no config.json).
    public convenience init(model: any TrainableModel, data: TaskData, options: TrainingOptions, runDirectory: URL? = nil,
                            processGroup: (any ProcessGroup)? = nil) throws {
        try options.validate()
        try model.check(data, loss: options.loss)
        try options.checkSplit(over: processGroup?.size ?? 1, trainingExamples: data.train.count, windowed: data.train.windows != nil)
        try self.init(model: model, data: data, options: options, configuration: nil, runDirectory: runDirectory, group: processGroup)
    }

    init(model: any TrainableModel, data: TaskData, options: TrainingOptions, configuration: TrainingConfiguration?,
         runDirectory: URL?, group: (any ProcessGroup)?) throws {
        self.model = model
        self.device = model.device
        self.options = options
        self.configuration = configuration
        processGroup = group
        agreement = DistributedAgreement(group: group)
        // Only rank 0 writes the run's files.
        self.initialDirectory = (group?.rank ?? 0) == 0 ? runDirectory : nil
        task = data
        penalizesBiasesByDefault = model.geometry.settings.penalizeBiases
        deviceData = try DeviceData(task: data, options: options, model: model, agreement: agreement)
        schedule = RelocationSchedule(options: options)
        accumulators = try Accumulators(device: device)
        if options.weightDecayScope == .matrices && options.weightDecay > 0 {
            var mask = [Float](repeating: 0, count: model.parameterCount)
            for range in model.matrixRanges { for i in range { mask[i] = 1 } }
            decayMask = try device.makeBuffer(mask)
        } else {
            decayMask = nil
        }
        finiteScratch = try device.makeBuffer(count: 6 * Self.finiteColumns)
        let device = model.device, gradients = model.gradients
        exchange = try group.flatMap { $0.size > 1 ? try GradientExchange(group: $0, device: device, gradients: gradients) : nil }
        if let initialDirectory { try prepare(initialDirectory) }
    }

    // MARK: Steps

    func outputGradient(rows: Int) throws -> Buffer {
        if let buffer = outputGradients[rows] { return buffer }
        let buffer = try device.makeBuffer(count: rows * model.outputWidth)
        outputGradients[rows] = buffer
        return buffer
    }

    func scratchGradient(rows: Int) throws -> Buffer {
        if let buffer = scratchGradients[rows] { return buffer }
        let buffer = try device.makeBuffer(count: rows * model.outputWidth)
        scratchGradients[rows] = buffer
        return buffer
    }

    /// Loss (and accuracy count) of `output` into `accumulators.loss` and `.correct`; leaves
    /// dLoss/dOutput in the returned buffer.
    func loss(_ output: BufferSlice, split: DeviceSplit, rows: Int, countCorrect: Bool, first: Int = 0) throws -> Buffer {
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
                try device.crossEntropy(logits: output, labels: labels, rows: rows, columns: outputs,
                                        logitGradient: scratch.whole, loss: accumulators.scratchLoss,
                                        correct: correct)
            }
        case .crossEntropy:
            try device.crossEntropy(logits: output, labels: labels!, rows: rows, columns: outputs,
                                    logitGradient: gradient.whole, loss: loss, correct: correct)
        }
        return gradient
    }

    /// One training step; returns the metrics when the step is a log step.
    @discardableResult
    public func trainStep() throws -> TrainingMetrics? {
        let start = DispatchTime.now().uptimeNanoseconds
        let perExample = task.train.targetsPerExample, ranks = processGroup?.size ?? 1
        let logging = (step + 1) % options.logEvery == 0 || step + 1 == options.steps
        let split = try deviceData.nextBatch()
        if logging { try device.fill(accumulators.all, value: 0) }
        try device.fill(model.gradients.whole, value: 0)
        let parts = options.accumulationSteps, rows = split.count / parts, width = task.train.inputWidth
        for part in 0..<parts {
            // Micro-batch `part`: its rows of the batch. Each loss is the mean over its rows, so the
            // summed gradients are scaled by 1 / parts below, and the logged loss and hits summed.
            let inputs = split.inputs.slice(offset: part * rows * width, count: rows * width)
            // Dropout masks drawn from (seed, step, micro-batch): a resumed run draws the same ones.
            // Each rank of a data-parallel run draws its own (rank 0 the one-process run's masks).
            let rankKey = UInt64(processGroup.map { $0.size > 1 ? $0.rank : 0 } ?? 0) << 40
            var generator = SeededGenerator(seed: (options.seed &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(step &* 64 &+ part) ^ rankKey)
            model.setDropoutKey(generator.next())
            let output = try model.forward(input: inputs, rows: rows)
            let gradient = try loss(output, split: split, rows: rows * perExample, countCorrect: logging, first: part * rows * perExample)
            if let exchange, part == parts - 1 {
                // The last micro-batch makes the gradients final: buckets start as they are done.
                exchange.begin()
                try model.backward(input: inputs, rows: rows, outputGradient: gradient.whole) { try exchange.ready(from: $0) }
            } else {
                try model.backward(input: inputs, rows: rows, outputGradient: gradient.whole)
            }
        }
        model.setDropoutKey(nil)
        try exchange?.finish()   // the mean over the ranks (before the penalty, which every rank adds once)
        if parts > 1 { try device.scale(model.gradients.whole, by: 1 / Float(parts)) }
        let lambda = options.lambda(at: step)
        model.geometry.settings.penalizeBiases = options.penalizesBiases(at: step, otherwise: penalizesBiasesByDefault)
        let cost = accumulators.cost
        if lambda > 0 || logging {
            try model.geometry.penalty(parameters: model.parameters.whole, gradient: lambda > 0 ? model.gradients.whole : nil,
                                       lambda: lambda, cost: cost)
        }
        var clipping: GradientClipping?
        if let maximumNorm = options.gradientClip {
            // The whole gradient's squared norm stays on the device, where AdamW reads it.
            let normSquared = accumulators.squaredGradientNorm
            try device.squaredNorm(model.gradients.whole, into: normSquared)
            clipping = GradientClipping(maximumNorm: maximumNorm, normSquared: normSquared)
        }
        try device.adamW(AdamWHyperparameters(learningRate: options.learningRate(at: step), beta1: options.beta1, beta2: options.beta2,
                                              weightDecay: options.weightDecay),
                         step: step + 1, parameters: model.parameters.whole, gradients: model.gradients.whole,
                         firstMoments: model.firstMoments.whole, secondMoments: model.secondMoments.whole,
                         clipping: clipping, decayMask: decayMask?.whole)
        step += 1
        var metrics: TrainingMetrics?
        if logging {
            var values = try accumulators.read(on: device)
            // The loss kernels add each micro-batch's mean loss and hits into the same slots.
            if parts > 1 { values.loss /= Float(parts) }
            if let group = processGroup, group.size > 1 {
                // The batch's loss is the mean of the ranks' (equal shares); hits add up.
                let sums = try group.sum([Double(values.loss), Double(values.correct)],
                                         "the training metrics at step \(step)")
                (values.loss, values.correct) = (Float(sums[0] / Double(group.size)), Float(sums[1]))
            }
            let (testLoss, testAccuracy, testLastLoss) = try evaluateWithLast()
            elapsed += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            for (name, value) in [("train loss", Double(values.loss)), ("connection cost", Double(values.cost)),
                                  ("test loss", testLoss)]
            where !value.isFinite {
                throw BIMTError.invalidSetting(
                    "the \(name) became \(value) at step \(step); stopping (the last checkpoint is kept). Try a lower learning rate or lambda.")
            }
            metrics = TrainingMetrics(step: step, trainLoss: Double(values.loss), testLoss: testLoss,
                                      trainAccuracy: split.labels == nil ? nil
                                          : Double(values.correct) / Double(split.count * ranks * perExample),
                                      testAccuracy: testAccuracy, cost: Double(values.cost), lambda: Double(lambda),
                                      seconds: elapsed,
                                      testLastLoss: testLastLoss)
        }
        if schedule.relocates(after: step) {
            try requireFinite()
            try relocate()
        }
        if !logging { elapsed += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return metrics
    }

    /// Relocates, then moves the data's columns (and relabels classes) with any input or
    /// output neurons that moved, so the network keeps seeing the same examples. Under MPI
    /// rank 0 decides the swaps for every rank.
    public func relocate() throws {
        try schedule.relocate(model, data: deviceData, decide: agreement.relocationDecider(at: step))
    }


    /// Runs to the configured step count (or `until`), reporting every log point; writes
    /// metrics rows and checkpoints when the run has a directory (`checkpoint.safetensors`
    /// every `checkpointEvery` steps, `best.safetensors` whenever the test loss is the lowest yet). When `shouldStop` turns
    /// true (a signal), it writes a checkpoint after the current step and returns.
    /// `checkpointed` runs after each regular checkpoint (`bimt train --view` redraws its page there).
    @discardableResult
    public func run(until last: Int? = nil, progress: (TrainingMetrics) -> Void = { _ in },
                    shouldStop: () -> Bool = { false }, checkpointed: () throws -> Void = {}) throws -> TrainingMetrics? {
        var latest: TrainingMetrics?
        let end = min(last ?? options.steps, options.steps)
        let budget = options.snapshotBudget ?? Snapshots.defaultBudgetMiB
        let snapshots = try runDirectory.flatMap {
            budget > 0 ? try Snapshots(runDirectory: $0, budgetMiB: budget) : nil
        }
        if let snapshots, step == 0, step < end { try snapshots.write(step: 0, relocated: false, model: model) }
        while step < end {
            processGroup?.noteStep(step)
            if try agreement.agreedStop(shouldStop(), after: step) {
                if runDirectory != nil { try saveCheckpoint() }
                interrupted = true
                break
            }
            let metrics = try trainStep()
            // A frame for `bimt view` at log steps and after relocations (trainStep relocates after such steps).
            let relocated = schedule.relocates(after: step)
            if let snapshots, metrics != nil || relocated { try snapshots.write(step: step, relocated: relocated, model: model) }
            if let metrics {
                try agreement.requireSameState(of: model, at: step)
                latest = metrics
                try record(metrics)
                if let runDirectory, metrics.testLoss < bestTestLoss {
                    bestTestLoss = metrics.testLoss
                    try saveCheckpoint(to: runDirectory.appending(path: Self.bestCheckpointName))
                }
                progress(metrics)
            }
            if runDirectory != nil && (step % options.checkpointEvery == 0 || step == options.steps) {
                try saveCheckpoint()
                try checkpointed()
            }
        }
        return latest
    }
}

extension Trainer {
    /// The batch order of a mini-batch run sampling in epochs (checkpointed).
    var sampler: BatchSampler? {
        get { deviceData.sampler }
        set { deviceData.sampler = newValue }
    }

    /// The random draws of a token stream's windows or of sampling with replacement (checkpointed).
    var windowSampler: WindowSampler? {
        get { deviceData.windowSampler }
        set { deviceData.windowSampler = newValue }
    }

    /// The evaluation split on the host.
    var evaluationData: Dataset { deviceData.evaluationData }

    /// What the gradient exchange has cost so far (nil without other ranks): steps, seconds the
    /// training thread waited after its backward passes, and bytes of gradient per step.
    public var exchangeStatistics: (steps: Int, exposedSeconds: Double, gradientBytes: Int)? {
        exchange.map { ($0.steps, $0.waitSeconds, 4 * $0.gradients.count) }
    }
}
