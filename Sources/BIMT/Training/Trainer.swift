import BIMTCompute
import Foundation

/// Runs BIMT training: steps (`TrainingStep`) on batches drawn on the device
/// (`DeviceData`), relocations when `RelocationSchedule` says, evaluation and metrics at log
/// steps, checkpoints and snapshots, stop requests, and resuming. Only losses and metrics come
/// back to the host, at log intervals.
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
    /// The precision of the run's matrix products (set on `device`), and why it was chosen.
    public let precision: PrecisionChoice
    /// Where metrics and checkpoints go (nil: nowhere).
    public var runDirectory: URL? { resumedDirectory ?? initialDirectory }
    let initialDirectory: URL?
    var resumedDirectory: URL?
    /// Steps done.
    public internal(set) var step = 0
    var elapsed = 0.0
    /// The data on the device, and the batches drawn from them.
    let deviceData: DeviceData
    /// When the run relocates.
    let schedule: RelocationSchedule
    /// The data's counts and hash, as checkpoints record them (computed at the first checkpoint).
    public private(set) lazy var dataFingerprint = DataFingerprint(task, values: configuration?.task.readsFiles ?? true)
    /// The lowest test loss of a log step so far (`best.safetensors` holds its weights).
    var bestTestLoss = Double.infinity
    /// The optimizer step on the device, and its workspace (which evaluation shares).
    let stepper: TrainingStep
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
    /// What the ranks of `processGroup` agree on: batch shares, relocations, stops, state.
    let agreement: DistributedAgreement

    /// A fresh run: builds the task, the model (seeded PyTorch-style initialization) and,
    /// when `runDirectory` is given, writes `config.json` and starts `metrics.csv` there.
    /// With a `processGroup` this process trains its share of each batch; only rank 0
    /// writes to `runDirectory`.
    public convenience init(
        configuration: TrainingConfiguration, device: Device, runDirectory: URL?,
        processGroup: (any ProcessGroup)? = nil
    ) throws {
        try configuration.validate()
        try self.init(
            configuration: configuration, data: try configuration.makeTask(), device: device,
            runDirectory: runDirectory,
            processGroup: processGroup)
    }

    /// A fresh run on data a program holds in memory (the configuration's `task` is then
    /// only a label): the model is built from the configuration and checked against the
    /// data's widths, vocabulary and targets before anything is allocated on the device.
    public convenience init(
        configuration: TrainingConfiguration, data: TaskData, device: Device, runDirectory: URL?,
        processGroup: (any ProcessGroup)? = nil
    ) throws {
        let (configuration, plan) = try configuration.prepared(for: data, on: device, ranks: processGroup?.size ?? 1)
        try plan.check()
        try configuration.options.checkSplit(
            over: processGroup?.size ?? 1, trainingExamples: data.train.count,
            windowed: data.train.windows != nil)
        let model = try configuration.model.makeModel(
            cost: configuration.cost, relocationCost: configuration.relocationCost,
            swapInputs: configuration.swapInputs, device: device)
        try model.initialize(seed: configuration.seed)
        try self.init(
            model: model, data: data, options: configuration.options, configuration: configuration,
            runDirectory: runDirectory,
            group: processGroup)
        memoryPlan = plan
    }

    /// Trains a model a program built (any `TrainableModel`, initialized as it likes) on
    /// in-memory data, on the model's device. The model's costs are those it was built with;
    /// `options` say how to train. The data are checked against the model first. With a
    /// `runDirectory` the run writes metrics.csv and checkpoints there (no config.json).
    public convenience init(
        model: any TrainableModel, data: TaskData, options: TrainingOptions, runDirectory: URL? = nil,
        processGroup: (any ProcessGroup)? = nil
    ) throws {
        try options.validate()
        try model.check(data, loss: options.loss)
        try options.checkSplit(
            over: processGroup?.size ?? 1, trainingExamples: data.train.count, windowed: data.train.windows != nil)
        try self.init(
            model: model, data: data, options: options, configuration: nil, runDirectory: runDirectory,
            group: processGroup)
    }

    init(
        model: any TrainableModel, data: TaskData, options: TrainingOptions, configuration: TrainingConfiguration?,
        runDirectory: URL?, group: (any ProcessGroup)?
    ) throws {
        self.model = model
        self.device = model.device
        precision = try Self.choosePrecision(options.precision, on: model.device)
        self.options = options
        self.configuration = configuration
        processGroup = group
        agreement = DistributedAgreement(group: group)
        // Only rank 0 writes the run's files.
        self.initialDirectory = (group?.rank ?? 0) == 0 ? runDirectory : nil
        task = data
        deviceData = try DeviceData(task: data, options: options, model: model, agreement: agreement)
        schedule = RelocationSchedule(options: options)
        stepper = try TrainingStep(model: model, options: options, training: data.train, group: group)
        finiteScratch = try device.makeBuffer(count: 6 * Self.finiteColumns)
        if let initialDirectory { try prepare(initialDirectory) }
        // Last, so that a trainer that fails to build leaves the device as it was.
        try device.setMatrixPrecision(precision.precision)
    }

    /// The precision a run with `setting` computes at on `device`, and why; a precision the
    /// device cannot run is an invalid `precision` field.
    public static func choosePrecision(_ setting: PrecisionSetting, on device: Device) throws -> PrecisionChoice {
        do { return try device.choosePrecision(setting) } catch let error as ComputeError {
            throw BIMTError.invalidField(field: "precision", reason: error.description)
        }
    }

    /// One training step; returns the metrics when the step is a log step.
    @discardableResult
    public func trainStep() throws -> TrainingMetrics? {
        let start = DispatchTime.now().uptimeNanoseconds
        let perExample = task.train.targetsPerExample, ranks = processGroup?.size ?? 1
        let logging = (step + 1) % options.logEvery == 0 || step + 1 == options.steps
        let split = try deviceData.nextBatch()
        let lambda = options.lambda(at: step)
        let totals = try stepper.take(step, on: split, logging: logging)
        step += 1
        var metrics: TrainingMetrics?
        if var values = totals {
            if let group = processGroup, group.size > 1 {
                // The batch's loss is the mean of the ranks' (equal shares); hits add up.
                let sums = try group.sum(
                    [Double(values.loss), Double(values.correct)],
                    "the training metrics at step \(step)")
                (values.loss, values.correct) = (Float(sums[0] / Double(group.size)), Float(sums[1]))
            }
            let (testLoss, testAccuracy, testLastLoss) = try evaluateWithLast()
            elapsed += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            // Checked before this step's checkpoint, which a diverged run never writes.
            for (what, value) in [
                ("the train loss", Double(values.loss)), ("the connection cost", Double(values.cost)),
                ("the test loss", testLoss),
            ]
            where !value.isFinite {
                throw BIMTError.diverged(what: what, step: step)
            }
            metrics = TrainingMetrics(
                step: step, trainLoss: Double(values.loss), testLoss: testLoss,
                trainAccuracy: split.labels == nil
                    ? nil
                    : Double(values.correct) / Double(split.count * ranks * perExample),
                testAccuracy: testAccuracy, cost: Double(values.cost), lambda: Double(lambda),
                seconds: elapsed, testLastLoss: testLastLoss)
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
    /// every `checkpointEvery` steps, `best.safetensors` whenever the test loss is the lowest
    /// yet). When `shouldStop` turns true (a signal), it writes a checkpoint after the current
    /// step and returns.
    /// `checkpointed` runs after each regular checkpoint (`bimt train --view` redraws its page there).
    @discardableResult
    public func run(
        until last: Int? = nil, progress: (TrainingMetrics) -> Void = { _ in },
        shouldStop: () -> Bool = { false }, checkpointed: () throws -> Void = {}
    ) throws -> TrainingMetrics? {
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
            if let snapshots, metrics != nil || relocated {
                try snapshots.write(step: step, relocated: relocated, model: model)
            }
            // This step's checkpoint, checked and read from the device once even when it is
            // written both as the best and as the regular checkpoint.
            var saved: Checkpoint?
            func save(to url: URL) throws {
                if saved == nil {
                    try requireFinite()
                    saved = try checkpoint()
                }
                try saved!.write(to: url)
            }
            if let metrics {
                try agreement.requireSameState(of: model, at: step)
                latest = metrics
                try record(metrics)
                if let runDirectory, metrics.testLoss < bestTestLoss {
                    bestTestLoss = metrics.testLoss
                    try save(to: runDirectory.appending(path: Self.bestCheckpointName))
                }
                progress(metrics)
            }
            if let runDirectory, step % options.checkpointEvery == 0 || step == options.steps {
                try save(to: runDirectory.appending(path: Self.checkpointName))
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

    /// Sums the gradients over `processGroup` (nil without other ranks).
    var exchange: GradientExchange? { stepper.exchange }

    /// What the gradient exchange has cost so far (nil without other ranks): steps, seconds the
    /// training thread waited after its backward passes, and bytes of gradient per step.
    public var exchangeStatistics: (steps: Int, exposedSeconds: Double, gradientBytes: Int)? {
        exchange.map { ($0.steps, $0.waitSeconds, 4 * $0.gradients.count) }
    }
}
