/// How a model is trained, apart from what it is: the loss, the optimizer, the connection
/// cost's strength over time, the relocation schedule and the logging. A `Trainer` built
/// from a model takes these alone; a `TrainingConfiguration` holds them beside the model and
/// task (in `config.json` they are top-level fields).
public struct TrainingOptions: Sendable, Equatable, Codable {
    public var loss: LossKind
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

    public init(loss: LossKind, steps: Int, learningRate: Float, weightDecay: Float = 0, batchSize: Int? = nil, seed: UInt64 = 1,
                lambda: Float, lambdaSchedule: [LambdaChange] = [], biasPenaltyFrom: Double? = nil,
                relocation: RelocationSettings = RelocationSettings(method: .greedy, topK: 30), swapEvery: Int = 200,
                logEvery: Int = 200, checkpointEvery: Int = 2000) {
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
    }

    /// lambda at `step`.
    public func lambda(at step: Int) -> Float {
        lambdaSchedule.reduce(lambda) { step >= Int($1.fraction * Double(steps)) ? $0 * $1.factor : $0 }
    }

    /// Whether biases pay the penalty at `step`; `otherwise` is the cost's own setting, used
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
        try require(steps >= 1, "steps", "must be >= 1, got \(steps)")
        try require(learningRate > 0 && learningRate.isFinite, "learningRate", "must be > 0, got \(learningRate)")
        try require(weightDecay >= 0 && weightDecay.isFinite, "weightDecay", "must be >= 0, got \(weightDecay)")
        try require(batchSize.map { $0 >= 1 } ?? true, "batchSize", "must be >= 1, got \(batchSize ?? 0)")
        try require(lambda >= 0 && lambda.isFinite, "lambda", "must be >= 0, got \(lambda)")
        try require(lambdaSchedule.allSatisfy { (0...1).contains($0.fraction) && $0.factor >= 0 && $0.factor.isFinite },
                    "lambdaSchedule", "fractions must lie in [0, 1] and factors be >= 0")
        try require(biasPenaltyFrom.map { (0...1).contains($0) } ?? true, "biasPenaltyFrom", "must lie in [0, 1]")
        try require(relocation.topK >= 1, "relocation.topK", "must be >= 1, got \(relocation.topK)")
        try require(swapEvery >= 1, "swapEvery", "must be >= 1, got \(swapEvery)")
        try require(logEvery >= 1, "logEvery", "must be >= 1, got \(logEvery)")
        try require(checkpointEvery >= 1, "checkpointEvery", "must be >= 1, got \(checkpointEvery)")
    }
}
