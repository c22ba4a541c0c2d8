import BIMTCompute

/// Which data a run trains on.
public struct TaskSpec: Sendable, Equatable, Codable {
    /// independence | feature-sharing | compositionality | two-moons | modadd | permutations | images | safetensors
    /// | modadd-seq | incontext | text | random-tokens (the last four are sequence tasks for a transformer)
    public var kind: String
    /// modadd: the modulus p.
    public var modulus: Int?
    /// permutations: n of S_n.
    public var groupSize: Int?
    /// safetensors: the file holding train.inputs, train.labels, test.inputs, test.labels;
    /// images: a folder of MNIST-format IDX files (nil: Debian's Fashion-MNIST); text: a UTF-8 file.
    public var path: String?

    public init(kind: String, modulus: Int? = nil, groupSize: Int? = nil, path: String? = nil) {
        self.kind = kind
        self.modulus = modulus
        self.groupSize = groupSize
        self.path = path
    }
}

/// lambda is multiplied by `factor` from step Int(fraction * steps) on (cumulatively).
public struct LambdaChange: Sendable, Equatable, Codable {
    public var fraction: Double
    public var factor: Float

    public init(fraction: Double, factor: Float) {
        self.fraction = fraction
        self.factor = factor
    }
}

public enum LossKind: String, Sendable, Codable, CaseIterable {
    case mse
    case crossEntropy = "cross-entropy"
}

/// Everything that defines a training run; saved as `config.json` in the run directory.
public struct TrainingConfiguration: Sendable, Equatable, Codable {
    public var preset: String?
    public var task: TaskSpec
    /// The MLP, or with `convolution` the conv net's dense head (first width = flattened size).
    public var architecture: MLPArchitecture
    /// Conv blocks before `architecture` (nil: a plain MLP).
    public var convolution: ConvNetArchitecture?
    /// A GPT-style transformer instead of the MLP (`architecture` is then unused).
    public var transformer: TransformerArchitecture? = nil
    public var loss: LossKind
    public var steps: Int
    public var learningRate: Float
    public var weightDecay: Float
    /// nil: full batch.
    public var batchSize: Int?
    public var seed: UInt64
    public var lambda: Float
    public var lambdaSchedule: [LambdaChange]
    /// The connection cost training adds to the loss (`cost.lastWeightFactor` 0 is the image
    /// model's `no_penalize_last`).
    public var cost: CostSettings
    /// Biases pay l0 * |b| from this fraction of the steps on (nil: `cost.penalizeBiases` throughout).
    public var biasPenaltyFrom: Double?
    /// The connection cost the swap search minimizes. The paper scores swaps with wf on
    /// every matrix even where training leaves the last one out, and S4 trains with wf 1 but
    /// relocates with wf 2.
    public var relocationCost: CostSettings
    public var relocation: RelocationSettings
    public var swapEvery: Int
    public var swapInputs: Bool
    public var logEvery: Int
    public var checkpointEvery: Int

    /// lambda at `step`.
    public func lambda(at step: Int) -> Float {
        lambdaSchedule.reduce(lambda) { step >= Int($1.fraction * Double(steps)) ? $0 * $1.factor : $0 }
    }

    /// Whether biases pay the penalty at `step`.
    public func penalizesBiases(at step: Int) -> Bool {
        guard let from = biasPenaltyFrom else { return cost.penalizeBiases }
        return step >= Int(from * Double(steps))
    }

    /// Checks every field; the message names the field.
    public func validate() throws {
        try architecture.validate()
        if let transformer {
            try transformer.validate()
            guard convolution == nil else { throw BIMTError.invalidSetting("a configuration has either transformer or convolution, not both") }
        }
        if let convolution {
            try convolution.validate()
            guard architecture.widths[0] == convolution.flattenedWidth else {
                throw BIMTError.invalidSetting("architecture.widths[0] must be the conv blocks' flattened size \(convolution.flattenedWidth), got \(architecture.widths[0])")
            }
        }
        func require(_ condition: Bool, _ text: String) throws {
            guard condition else { throw BIMTError.invalidSetting(text) }
        }
        try require(steps >= 1, "steps must be >= 1, got \(steps)")
        try require(learningRate > 0 && learningRate.isFinite, "learningRate must be > 0, got \(learningRate)")
        try require(weightDecay >= 0, "weightDecay must be >= 0, got \(weightDecay)")
        try require(batchSize.map { $0 >= 1 } ?? true, "batchSize must be >= 1, got \(batchSize ?? 0)")
        try require(lambda >= 0 && lambda.isFinite, "lambda must be >= 0, got \(lambda)")
        try require(lambdaSchedule.allSatisfy { (0...1).contains($0.fraction) && $0.factor >= 0 },
                    "lambdaSchedule fractions must lie in [0, 1] and factors be >= 0")
        try cost.validate("cost")
        try relocationCost.validate("relocationCost")
        try require(swapEvery >= 1, "swapEvery must be >= 1, got \(swapEvery)")
        try require(relocation.topK >= 1, "topK must be >= 1, got \(relocation.topK)")
        try require(logEvery >= 1, "logEvery must be >= 1, got \(logEvery)")
        try require(checkpointEvery >= 1, "checkpointEvery must be >= 1, got \(checkpointEvery)")
        try require(biasPenaltyFrom.map { (0...1).contains($0) } ?? true, "biasPenaltyFrom must lie in [0, 1]")
    }
}

extension TrainingConfiguration {
    public static let presetNames = ["independence", "feature-sharing", "compositionality", "two-moons", "modadd", "s4", "mnist", "convnet",
                                     "incontext", "modadd-seq", "charlm", "gpt-bench"]

    /// The paper's settings for each experiment (docs/METHOD.md, "The paper's experiments"),
    /// training and relocation costs included.
    public static func preset(_ name: String) throws -> TrainingConfiguration {
        let symbolicCost = CostSettings(weightFactor: 1, l0: 0.1, reduction: .sum)
        var symbolicRelocationCost = symbolicCost
        symbolicRelocationCost.penalizeBiases = true
        let symbolicSchedule = [LambdaChange(fraction: 0.25, factor: 10), LambdaChange(fraction: 0.75, factor: 0.1)]
        func symbolic(_ formula: Tasks.Formula, widths: [Int], schedule: [LambdaChange] = symbolicSchedule) -> TrainingConfiguration {
            TrainingConfiguration(
                preset: name, task: TaskSpec(kind: formula.rawValue),
                architecture: MLPArchitecture(widths: widths, activation: .silu), convolution: nil, loss: .mse, steps: 20000,
                learningRate: 2e-3, weightDecay: 0, batchSize: nil, seed: 1, lambda: 1e-3, lambdaSchedule: schedule,
                cost: symbolicCost, biasPenaltyFrom: 0.75, relocationCost: symbolicRelocationCost,
                relocation: RelocationSettings(method: .greedy, topK: 5), swapEvery: 200, swapInputs: true,
                logEvery: 200, checkpointEvery: 2000)
        }
        func tokens(_ task: TaskSpec, vocabulary: Int, lr: Float, lambda: Float, schedule: [LambdaChange],
                    weightFactor: Float = 2) -> TrainingConfiguration {
            TrainingConfiguration(
                preset: name, task: task,
                architecture: MLPArchitecture(widths: [64, 50, 50, vocabulary], activation: .silu,
                                              embedding: EmbeddingSpec(vocabulary: vocabulary, dimension: 32, folds: 2)),
                convolution: nil, loss: .crossEntropy, steps: 20000, learningRate: lr, weightDecay: 0, batchSize: nil, seed: 1, lambda: lambda,
                lambdaSchedule: schedule, cost: CostSettings(weightFactor: weightFactor, l0: 0.5, reduction: .mean, penalizeBiases: true),
                biasPenaltyFrom: nil, relocationCost: paperCost, relocation: RelocationSettings(method: .greedy, topK: 30),
                swapEvery: 200, swapInputs: true, logEvery: 200, checkpointEvery: 2000)
        }
        // The cost every mean-reduced experiment's swaps minimize (wf 2 on every matrix, biases).
        let paperCost = CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean, penalizeBiases: true)
        switch name {
        case "independence": return symbolic(.independence, widths: [4, 20, 20, 2])
        case "feature-sharing": return symbolic(.featureSharing, widths: [3, 20, 20, 3])
        case "compositionality":
            return symbolic(.compositionality, widths: [4, 20, 20, 20, 20, 1],
                            schedule: [LambdaChange(fraction: 0.25, factor: 3), LambdaChange(fraction: 0.75, factor: 1)])
        case "two-moons":
            // Biases penalized throughout, lambda x10 at 1/2, top_k 10, 10001 steps as the reference runs it.
            var c = symbolic(.independence, widths: [2, 20, 20, 2])
            c.task = TaskSpec(kind: "two-moons")
            c.loss = .crossEntropy
            c.steps = 10001
            c.cost = CostSettings(weightFactor: 1, l0: 0.2, reduction: .sum, penalizeBiases: true)
            c.relocationCost = c.cost
            c.biasPenaltyFrom = nil
            c.lambdaSchedule = [LambdaChange(fraction: 0.5, factor: 10)]
            c.relocation.topK = 10
            return c
        case "modadd":
            return tokens(TaskSpec(kind: "modadd", modulus: 59), vocabulary: 59, lr: 1e-3, lambda: 0.1,
                          schedule: [LambdaChange(fraction: 0.25, factor: 10), LambdaChange(fraction: 0.75, factor: 0.1)])
        case "s4":
            // Trains with wf 1, relocates with wf 2 (as the reference does).
            return tokens(TaskSpec(kind: "permutations", groupSize: 4), vocabulary: 24, lr: 2e-3, lambda: 1, schedule: [], weightFactor: 1)
        case "mnist":
            // The paper's image model: grids 28x28, 10x10, 10x10 and a ring of 10 outputs. Training
            // leaves the last matrix's wf out (no_penalize_last); swaps still see it.
            return TrainingConfiguration(
                preset: name, task: TaskSpec(kind: "images"),
                architecture: MLPArchitecture(widths: [784, 100, 100, 10], activation: .silu, layout: .grid),
                convolution: nil, loss: .mse, steps: 40000, learningRate: 1e-3, weightDecay: 0, batchSize: 100, seed: 1, lambda: 0.01,
                lambdaSchedule: [LambdaChange(fraction: 0.25, factor: 10), LambdaChange(fraction: 0.5, factor: 10)],
                cost: CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean, penalizeBiases: true, lastWeightFactor: 0),
                biasPenaltyFrom: nil, relocationCost: paperCost,
                relocation: RelocationSettings(method: .greedy, topK: 30), swapEvery: 500, swapInputs: false,
                logEvery: 1000, checkpointEvery: 5000)
        case "convnet":
            // Conv(1->32, 3x3) + max-pool, conv(32->64, 3x3) + max-pool, dense 7*7*64 -> 10 (ring).
            // lambda 0.2 (x10 at 1/4, x0.1 at 9/10): tuned on Fashion-MNIST for >= 90 % accuracy with
            // >= 90 % of the conv weights prunable; [16, 32] channels could not reach both.
            let convolution = ConvNetArchitecture(imageHeight: 28, imageWidth: 28, imageChannels: 1, channels: [32, 64])
            return TrainingConfiguration(
                preset: name, task: TaskSpec(kind: "images"),
                architecture: MLPArchitecture(widths: [convolution.flattenedWidth, 10], activation: .relu, layout: .grid),
                convolution: convolution, loss: .crossEntropy, steps: 10000, learningRate: 1e-3, weightDecay: 0, batchSize: 100,
                seed: 1, lambda: 0.2, lambdaSchedule: [LambdaChange(fraction: 0.25, factor: 10), LambdaChange(fraction: 0.9, factor: 0.1)],
                cost: CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean, penalizeBiases: true, lastWeightFactor: 0),
                biasPenaltyFrom: nil, relocationCost: paperCost,
                relocation: RelocationSettings(method: .greedy, topK: 8), swapEvery: 500, swapInputs: false,
                logEvery: 500, checkpointEvery: 2500)
        case "incontext", "modadd-seq", "charlm", "gpt-bench":
            return transformerPreset(name)
        default:
            throw BIMTError.invalidSetting("unknown preset '\(name)'; presets: \(presetNames.joined(separator: ", "))")
        }
    }

    /// Builds the task's data.
    public func makeTask() throws -> TaskData {
        switch task.kind {
        case "independence", "feature-sharing", "compositionality":
            return try Tasks.symbolic(Tasks.Formula(rawValue: task.kind)!, seed: seed)
        case "two-moons": return try Tasks.twoMoons(seed: seed)
        case "modadd": return try Tasks.modularAddition(modulus: task.modulus ?? 59, seed: seed)
        case "permutations": return try Tasks.permutationComposition(n: task.groupSize ?? 4, seed: seed)
        case "images": return try ImageData.load(directory: task.path)
        case "modadd-seq", "incontext", "text", "random-tokens":
            return try makeSequenceTask()
        case "safetensors":
            guard let path = task.path else { throw BIMTError.invalidSetting("a safetensors task needs a data path") }
            return try UserData.load(path: path)
        default:
            throw BIMTError.invalidSetting(
                "unknown task '\(task.kind)'; tasks: independence, feature-sharing, compositionality, two-moons, modadd, permutations, images, safetensors, modadd-seq, incontext, text, random-tokens")
        }
    }
}

extension TrainingConfiguration {
    enum CodingKeys: String, CodingKey {
        case preset, task, architecture, convolution, transformer, loss, steps, learningRate, weightDecay, batchSize, seed
        case lambda, lambdaSchedule, cost, biasPenaltyFrom, relocationCost, relocation, swapEvery, swapInputs, logEvery
        case checkpointEvery
        /// Written by earlier versions: wf 0 on the last matrix during training.
        case noPenalizeLast
    }

    /// A transformer's configuration carries no `architecture` (the MLP shape it does not use):
    /// it is left out of config.json and, when absent, set to a placeholder of [inputs, outputs].
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        preset = try c.decodeIfPresent(String.self, forKey: .preset)
        task = try c.decode(TaskSpec.self, forKey: .task)
        convolution = try c.decodeIfPresent(ConvNetArchitecture.self, forKey: .convolution)
        transformer = try c.decodeIfPresent(TransformerArchitecture.self, forKey: .transformer)
        if let transformer, !c.contains(.architecture) {
            architecture = transformer.placeholderMLP
        } else {
            architecture = try c.decode(MLPArchitecture.self, forKey: .architecture)
        }
        loss = try c.decode(LossKind.self, forKey: .loss)
        steps = try c.decode(Int.self, forKey: .steps)
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        weightDecay = try c.decode(Float.self, forKey: .weightDecay)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        seed = try c.decode(UInt64.self, forKey: .seed)
        lambda = try c.decode(Float.self, forKey: .lambda)
        lambdaSchedule = try c.decode([LambdaChange].self, forKey: .lambdaSchedule)
        cost = try c.decode(CostSettings.self, forKey: .cost)
        if try c.decodeIfPresent(Bool.self, forKey: .noPenalizeLast) == true, cost.lastWeightFactor == nil { cost.lastWeightFactor = 0 }
        biasPenaltyFrom = try c.decodeIfPresent(Double.self, forKey: .biasPenaltyFrom)
        // Without one (files of earlier versions, or a config that leaves it out): the training
        // cost with wf on every matrix, the paper's rule.
        relocationCost = try c.decodeIfPresent(CostSettings.self, forKey: .relocationCost) ?? cost.penalizingLast
        relocation = try c.decode(RelocationSettings.self, forKey: .relocation)
        swapEvery = try c.decode(Int.self, forKey: .swapEvery)
        swapInputs = try c.decode(Bool.self, forKey: .swapInputs)
        logEvery = try c.decode(Int.self, forKey: .logEvery)
        checkpointEvery = try c.decode(Int.self, forKey: .checkpointEvery)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(preset, forKey: .preset)
        try c.encode(task, forKey: .task)
        if transformer == nil { try c.encode(architecture, forKey: .architecture) }
        try c.encodeIfPresent(convolution, forKey: .convolution)
        try c.encodeIfPresent(transformer, forKey: .transformer)
        try c.encode(loss, forKey: .loss)
        try c.encode(steps, forKey: .steps)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encodeIfPresent(batchSize, forKey: .batchSize)
        try c.encode(seed, forKey: .seed)
        try c.encode(lambda, forKey: .lambda)
        try c.encode(lambdaSchedule, forKey: .lambdaSchedule)
        try c.encode(cost, forKey: .cost)
        try c.encodeIfPresent(biasPenaltyFrom, forKey: .biasPenaltyFrom)
        try c.encode(relocationCost, forKey: .relocationCost)
        try c.encode(relocation, forKey: .relocation)
        try c.encode(swapEvery, forKey: .swapEvery)
        try c.encode(swapInputs, forKey: .swapInputs)
        try c.encode(logEvery, forKey: .logEvery)
        try c.encode(checkpointEvery, forKey: .checkpointEvery)
    }
}
