import BIMTCompute

/// How a model is trained, apart from what it is: the loss, the optimizer, the connection
/// cost's strength over time, the relocation schedule and the logging. A `Trainer` built
/// from a model takes these alone; a `TrainingConfiguration` holds them beside the model and
/// task (in `config.json` they are top-level fields).
public struct TrainingOptions: Sendable, Equatable, Codable {
    /// The loss.
    public var loss: LossKind
    /// Training steps.
    public var steps: Int
    /// AdamW's learning rate.
    public var learningRate: Float
    /// AdamW's decoupled weight decay.
    public var weightDecay: Float
    /// Examples per step (nil: the whole training split every step).
    public var batchSize: Int?
    /// Seeds the data split, the initialization and the mini-batch order.
    public var seed: UInt64
    /// The connection cost's weight at step 0.
    public var lambda: Float
    /// Multipliers of lambda over the run.
    public var lambdaSchedule: [LambdaChange]
    /// Biases pay l0 * |b| from this fraction of the steps on (nil: as the model's cost says, throughout).
    public var biasPenaltyFrom: Double?
    /// The swap search: method, candidates per layer, whether AdamW's moments move with the neurons.
    public var relocation: RelocationSettings
    /// Relocate every this many steps.
    public var swapEvery: Int
    /// Evaluate and report every this many steps (and at the last).
    public var logEvery: Int
    /// Write a checkpoint every this many steps (and at the last), when the run has a directory.
    public var checkpointEvery: Int
    /// Warmup and cosine decay of the learning rate (nil: `learningRate` throughout).
    public var learningRateSchedule: LearningRateSchedule?
    /// Clip the gradient (loss and connection cost together) to this global L2 norm before
    /// AdamW (nil: no clipping).
    public var gradientClip: Float?
    /// AdamW's first-moment decay.
    public var beta1: Float
    /// AdamW's second-moment decay.
    public var beta2: Float
    /// Which parameters weight decay applies to.
    public var weightDecayScope: WeightDecayScope
    /// Micro-batches per step: each step's batch runs forward and backward in this many
    /// equal parts whose gradients are averaged (the same step as one batch, in less memory).
    public var accumulationSteps: Int
    /// Evaluate on this many batches of `batchSize` test examples (the same ones at every log
    /// step: the first of a stored split, windows at seeded offsets of a token stream); nil:
    /// the whole test split (a token stream's non-overlapping windows).
    public var evalBatches: Int?
    /// Training examples held out as the evaluation set (a seeded random choice): training
    /// never sees them, and the run never evaluates on its test split, so settings chosen by looking
    /// at its metrics leave the test split untouched (`bimt analyze RUN --test-split` reads
    /// it). nil: evaluate on the test split.
    public var validationExamples: Int?
    /// What the run's evaluations are of: "validation" with `validationExamples`, else "test".
    public var evaluationSplitName: String { validationExamples == nil ? "test" : "validation" }
    /// How mini-batches of stored examples are drawn (a token stream's windows are always
    /// drawn with replacement).
    public var batchSampling: BatchSampling = .epochs
    /// MiB the run directory's network snapshots (for `bimt view`) may take before older
    /// frames are thinned; 0: no snapshots; nil: `Snapshots.defaultBudgetMiB`.
    public var snapshotBudget: Double?
    /// The precision of matrix products: fp32, bf16 (bfloat16 operands, fp32 accumulation;
    /// weights, gradients and optimizer state stay fp32), or auto (bf16 where the device
    /// computes it natively, else fp32). Checkpoints hold fp32 either way.
    public var precision: PrecisionSetting = .fp32

    /// Options; the defaults are the paper's (seed 1, no weight decay, full batch, greedy top 30 every 200 steps).
    public init(
        loss: LossKind, steps: Int, learningRate: Float, weightDecay: Float = 0, batchSize: Int? = nil,
        seed: UInt64 = 1,
        lambda: Float, lambdaSchedule: [LambdaChange] = [], biasPenaltyFrom: Double? = nil,
        relocation: RelocationSettings = RelocationSettings(method: .greedy, topK: 30), swapEvery: Int = 200,
        logEvery: Int = 200, checkpointEvery: Int = 2000, learningRateSchedule: LearningRateSchedule? = nil,
        gradientClip: Float? = nil, beta1: Float = 0.9, beta2: Float = 0.999, weightDecayScope: WeightDecayScope = .all,
        accumulationSteps: Int = 1, evalBatches: Int? = nil
    ) {
        self.loss = loss
        self.steps = steps
        self.learningRate = learningRate
        self.weightDecay = weightDecay
        self.batchSize = batchSize
        self.seed = seed
        self.lambda = lambda
        self.lambdaSchedule = lambdaSchedule
        self.biasPenaltyFrom = biasPenaltyFrom
        self.relocation = relocation
        self.swapEvery = swapEvery
        self.logEvery = logEvery
        self.checkpointEvery = checkpointEvery
        self.learningRateSchedule = learningRateSchedule
        self.gradientClip = gradientClip
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecayScope = weightDecayScope
        self.accumulationSteps = accumulationSteps
        self.evalBatches = evalBatches
    }

    /// Rows per evaluation chunk for a model taking at most `maximumRows` per pass: the
    /// training micro-batch when there is one (evaluation then reuses its workspace), else
    /// the model's maximum.
    /// With `ranks` processes sharing each batch, a rank's micro-batch.
    public func evaluationRows(maximumRows: Int, ranks: Int = 1) -> Int {
        guard let batchSize else { return maximumRows }
        return max(1, min(maximumRows, batchSize / (accumulationSteps * max(1, ranks))))
    }

    /// The learning rate of step index `step` (0 for the first).
    public func learningRate(at step: Int) -> Float {
        learningRateSchedule?.learningRate(at: step, peak: learningRate, steps: steps) ?? learningRate
    }

    /// lambda at `step`.
    public func lambda(at step: Int) -> Float {
        lambdaSchedule.reduce(lambda) { step >= Int($1.fraction * Double(steps)) ? $0 * $1.factor : $0 }
    }

    /// Whether biases pay the connection cost at `step`; `otherwise` is the cost's own setting, used
    /// when there is no `biasPenaltyFrom`.
    public func penalizesBiases(at step: Int, otherwise: Bool) -> Bool {
        guard let from = biasPenaltyFrom else { return otherwise }
        return step >= Int(from * Double(steps))
    }

    /// Checks every field; the error names the field.
    public func validate() throws {
        func require(_ condition: Bool, _ field: String, _ text: String) throws {
            guard condition else { throw BIMTError.invalidField(field: field, reason: text) }
        }
        try SizeLimits.require(steps, in: 1...SizeLimits.steps, "steps")
        try require(learningRate > 0 && learningRate.isFinite, "learningRate", "must be > 0, got \(learningRate)")
        try require(weightDecay >= 0 && weightDecay.isFinite, "weightDecay", "must be >= 0, got \(weightDecay)")
        if let batchSize { try SizeLimits.require(batchSize, in: 1...SizeLimits.count, "batchSize") }
        try require(lambda >= 0 && lambda.isFinite, "lambda", "must be >= 0, got \(lambda)")
        try require(
            lambdaSchedule.allSatisfy { (0...1).contains($0.fraction) && $0.factor >= 0 && $0.factor.isFinite },
            "lambdaSchedule", "fractions must lie in [0, 1] and factors be >= 0")
        try require(biasPenaltyFrom.map { (0...1).contains($0) } ?? true, "biasPenaltyFrom", "must lie in [0, 1]")
        try SizeLimits.require(relocation.topK, in: 1...SizeLimits.count, "relocation.topK")
        try SizeLimits.require(swapEvery, in: 1...SizeLimits.steps, "swapEvery")
        try SizeLimits.require(logEvery, in: 1...SizeLimits.steps, "logEvery")
        try SizeLimits.require(checkpointEvery, in: 1...SizeLimits.steps, "checkpointEvery")
        if let schedule = learningRateSchedule {
            let end = schedule.decaySteps ?? steps
            try require(
                schedule.warmupSteps >= 0 && schedule.warmupSteps < end, "learningRateSchedule.warmupSteps",
                "must lie in 0 ..< \(end) (the decay's end), "
                    + "got \(schedule.warmupSteps): the warmup would outlast the run"
            )
            try require(
                end <= steps || schedule.decaySteps == nil, "learningRateSchedule.decaySteps",
                "must be <= steps (\(steps)), got \(end)")
            try require(
                schedule.minimumLearningRate >= 0 && schedule.minimumLearningRate <= learningRate,
                "learningRateSchedule.minimumLearningRate",
                "must lie in [0, learningRate \(learningRate)], got \(schedule.minimumLearningRate)")
        }
        try require(
            gradientClip.map { $0 > 0 && $0.isFinite } ?? true, "gradientClip", "must be > 0, got \(gradientClip ?? 0)")
        try require((0..<1).contains(beta1), "beta1", "must lie in [0, 1), got \(beta1)")
        try require((0..<1).contains(beta2), "beta2", "must lie in [0, 1), got \(beta2)")
        try SizeLimits.require(accumulationSteps, in: 1...SizeLimits.count, "accumulationSteps")
        if let evalBatches { try SizeLimits.require(evalBatches, in: 1...SizeLimits.count, "evalBatches") }
        if let validationExamples {
            try SizeLimits.require(validationExamples, in: 1...SizeLimits.count, "validationExamples")
        }
        try require(
            evalBatches == nil || batchSize != nil, "evalBatches", "counts batches of batchSize; set a batch size")
        try require(
            snapshotBudget.map { $0 >= 0 && $0 <= SizeLimits.snapshotMiB } ?? true, "snapshotBudget",
            "must lie in 0...\(Int(SizeLimits.snapshotMiB)) MiB (0: no snapshots), got \(snapshotBudget ?? 0)")
        if accumulationSteps > 1 {
            guard let batchSize, batchSize % accumulationSteps == 0 else {
                throw BIMTError.invalidField(
                    field: "accumulationSteps",
                    reason: "\(accumulationSteps) micro-batches must divide the batch size "
                        + (batchSize.map { "\($0)" } ?? "(none: a full-batch run)"))
            }
        }
    }
}

/// How a run draws mini-batches of stored examples.
public enum BatchSampling: String, Sendable, Codable, CaseIterable {
    /// Every example once per epoch, in a seeded order per epoch (PyTorch's shuffled `DataLoader`).
    case epochs
    /// Each batch `batchSize` independent uniform draws (`np.random.choice(n, batch)`, as the
    /// paper's in-context notebook draws them).
    case replacement
}

/// Which parameters AdamW's weight decay applies to.
public enum WeightDecayScope: String, Sendable, Codable, CaseIterable {
    /// Every parameter (PyTorch's AdamW given `model.parameters()`).
    case all
    /// Tensors of rank 2 or more only: weight matrices, convolution kernels, embedding and
    /// position tables; not biases or LayerNorm gains (nanoGPT's rule).
    case matrices
}

extension TrainingOptions {
    enum CodingKeys: String, CodingKey {
        case loss, steps, learningRate, weightDecay, batchSize, seed, lambda, lambdaSchedule, biasPenaltyFrom,
            relocation, swapEvery
        case logEvery, checkpointEvery, learningRateSchedule, gradientClip, beta1, beta2, weightDecayScope,
            accumulationSteps, evalBatches
        case snapshotBudget, batchSampling, validationExamples, precision
    }

    /// Fields added after the first version take their defaults when absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            loss: try c.decode(LossKind.self, forKey: .loss), steps: try c.decode(Int.self, forKey: .steps),
            learningRate: try c.decode(Float.self, forKey: .learningRate),
            weightDecay: try c.decode(Float.self, forKey: .weightDecay),
            batchSize: try c.decodeIfPresent(Int.self, forKey: .batchSize),
            seed: try c.decode(UInt64.self, forKey: .seed),
            lambda: try c.decode(Float.self, forKey: .lambda),
            lambdaSchedule: try c.decode([LambdaChange].self, forKey: .lambdaSchedule),
            biasPenaltyFrom: try c.decodeIfPresent(Double.self, forKey: .biasPenaltyFrom),
            relocation: try c.decode(RelocationSettings.self, forKey: .relocation),
            swapEvery: try c.decode(Int.self, forKey: .swapEvery),
            logEvery: try c.decode(Int.self, forKey: .logEvery),
            checkpointEvery: try c.decode(Int.self, forKey: .checkpointEvery),
            learningRateSchedule: try c.decodeIfPresent(LearningRateSchedule.self, forKey: .learningRateSchedule),
            gradientClip: try c.decodeIfPresent(Float.self, forKey: .gradientClip),
            beta1: try c.decodeIfPresent(Float.self, forKey: .beta1) ?? 0.9,
            beta2: try c.decodeIfPresent(Float.self, forKey: .beta2) ?? 0.999,
            weightDecayScope: try c.decodeIfPresent(WeightDecayScope.self, forKey: .weightDecayScope) ?? .all,
            accumulationSteps: try c.decodeIfPresent(Int.self, forKey: .accumulationSteps) ?? 1,
            evalBatches: try c.decodeIfPresent(Int.self, forKey: .evalBatches))
        snapshotBudget = try c.decodeIfPresent(Double.self, forKey: .snapshotBudget)
        batchSampling = try c.decodeIfPresent(BatchSampling.self, forKey: .batchSampling) ?? .epochs
        validationExamples = try c.decodeIfPresent(Int.self, forKey: .validationExamples)
        precision = try c.decodeIfPresent(PrecisionSetting.self, forKey: .precision) ?? .fp32
    }

    /// Fields at their defaults are left out, so a run that does not use them writes the
    /// config.json it always did.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(loss, forKey: .loss)
        try c.encode(steps, forKey: .steps)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encodeIfPresent(batchSize, forKey: .batchSize)
        try c.encode(seed, forKey: .seed)
        try c.encode(lambda, forKey: .lambda)
        try c.encode(lambdaSchedule, forKey: .lambdaSchedule)
        try c.encodeIfPresent(biasPenaltyFrom, forKey: .biasPenaltyFrom)
        try c.encode(relocation, forKey: .relocation)
        try c.encode(swapEvery, forKey: .swapEvery)
        try c.encode(logEvery, forKey: .logEvery)
        try c.encode(checkpointEvery, forKey: .checkpointEvery)
        try c.encodeIfPresent(learningRateSchedule, forKey: .learningRateSchedule)
        try c.encodeIfPresent(gradientClip, forKey: .gradientClip)
        if beta1 != 0.9 { try c.encode(beta1, forKey: .beta1) }
        if beta2 != 0.999 { try c.encode(beta2, forKey: .beta2) }
        if weightDecayScope != .all { try c.encode(weightDecayScope, forKey: .weightDecayScope) }
        if accumulationSteps != 1 { try c.encode(accumulationSteps, forKey: .accumulationSteps) }
        try c.encodeIfPresent(evalBatches, forKey: .evalBatches)
        try c.encodeIfPresent(snapshotBudget, forKey: .snapshotBudget)
        if batchSampling != .epochs { try c.encode(batchSampling, forKey: .batchSampling) }
        try c.encodeIfPresent(validationExamples, forKey: .validationExamples)
        if precision != .fp32 { try c.encode(precision, forKey: .precision) }
    }
}
