import BIMTCompute
import Foundation

extension TrainingConfiguration {
    /// Changes to a configuration as a user states them (the command line's flags are
    /// these): each nil field leaves the configuration alone. `applying(_:)` turns them into
    /// a configuration, with what each implies (user data set the loss and the widths, a
    /// modulus sizes the embedding, a cost flag sets both costs).
    public struct Overrides: Sendable, Equatable {
        /// The user's own data: a safetensors file (the model becomes an MLP sized to it unless
        /// `widths` are given, the loss follows its labels), or for an image task a folder of
        /// MNIST-format IDX files.
        public var dataPath: String?
        /// A UTF-8 file for a character-level transformer.
        public var textPath: String?
        /// A folder of nanoGPT token files (train.bin, val.bin, optionally meta.json) for a transformer.
        public var tokensPath: String?
        /// The token files' vocabulary size (default: meta.json's vocab_size).
        public var vocabularySize: Int?
        /// Layer widths of an MLP or of a conv net's dense head.
        public var widths: [Int]?
        /// The seed.
        public var seed: UInt64?
        /// Training steps.
        public var steps: Int?
        /// greedy, assignment or off.
        public var relocationMethod: RelocationMethod?
        /// AdamW's learning rate.
        public var learningRate: Float?
        /// lambda at step 0 (the schedule's factors still apply).
        public var lambda: Float?
        /// Greedy candidates per layer.
        public var topK: Int?
        /// Steps between relocations.
        public var swapEvery: Int?
        /// Examples per step.
        public var batchSize: Int?
        /// AdamW's weight decay.
        public var weightDecay: Float?
        /// l0 of both costs (training and swap search).
        public var l0: Float?
        /// wf of both costs.
        public var weightFactor: Float?
        /// The reduction of both costs.
        public var reduction: CostReduction?
        /// The training cost's wf on the last matrix.
        public var lastWeightFactor: Float?
        /// Whether biases pay l0 |b| in training, throughout the run.
        public var penalizeBiases: Bool?
        /// The swap search cost's wf.
        public var relocationWeightFactor: Float?
        /// The swap search cost's wf on the last matrix.
        public var relocationLastWeightFactor: Float?
        /// The swap search cost's reduction.
        public var relocationReduction: CostReduction?
        /// An MLP's or conv net's activation.
        public var activation: Activation?
        /// Steps between evaluations.
        public var logEvery: Int?
        /// Steps between checkpoints.
        public var checkpointEvery: Int?
        /// p of the modular-addition tasks (resizes the embedding or the transformer's vocabulary and outputs).
        public var modulus: Int?
        /// A transformer's blocks.
        public var layers: Int?
        /// A transformer's width.
        public var width: Int?
        /// A transformer's heads.
        public var heads: Int?
        /// A transformer's context length.
        public var context: Int?
        /// A transformer's dropout rate (training only).
        public var dropout: Float?
        /// Whether AdamW's moments move with swapped neurons (false: the paper's behaviour).
        public var moveOptimizerState: Bool?
        /// Linear warmup steps of a warmup-cosine schedule (any of these three sets one up;
        /// the others default to 0 warmup, a tenth of the learning rate, the run's end).
        public var warmupSteps: Int?
        /// The rate the cosine decays to.
        public var minimumLearningRate: Float?
        /// The step the decay ends at.
        public var decaySteps: Int?
        /// The gradient's largest global L2 norm.
        public var gradientClip: Float?
        /// AdamW's beta1.
        public var beta1: Float?
        /// AdamW's beta2.
        public var beta2: Float?
        /// Which parameters weight decay applies to.
        public var weightDecayScope: WeightDecayScope?
        /// Micro-batches per step.
        public var accumulationSteps: Int?
        /// Test batches per evaluation.
        public var evalBatches: Int?
        /// Training examples held out as the evaluation set.
        public var validationExamples: Int?
        /// MiB for network snapshots (0: none).
        public var snapshotBudget: Double?
        /// fp32, bf16 or auto.
        public var precision: PrecisionSetting?

        /// No changes.
        public init() {}
    }

    /// This configuration with `overrides` applied, validated. Errors name the
    /// configuration field at fault (`architecture.widths`, `transformer.heads`, `task.path`, ...).
    public func applying(_ overrides: Overrides) throws -> TrainingConfiguration {
        var c = self
        let o = overrides
        if let modulus = o.modulus { try Tasks.checkModulus(modulus) }
        var userData: TaskData?
        if let path = o.dataPath {
            if case .images = c.task {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                    throw BIMTError.invalidFile(
                        path: path,
                        reason: "is not a folder; an image task reads a folder of "
                            + "MNIST-format IDX files")
                }
                c.task = .images(folder: path)
            } else {
                c.preset = nil
                c.task = .userData(path: path)
                let data = try UserData.load(path: path)
                userData = data
                c.loss = data.train.isClassification ? .crossEntropy : .mse
                if case var .mlp(a) = c.model {
                    a.embedding = nil
                    a.widths = o.widths ?? [data.train.inputWidth, 20, 20, data.train.outputWidth]
                    c.model = .mlp(a)
                }
            }
        }
        if let path = o.textPath {
            guard case .transformer = c.model else {
                throw BIMTError.invalidField(
                    field: "task.path",
                    reason:
                        "a text file trains a character-level transformer (preset charlm), not \(c.model.familyName)")
            }
            c.task = .text(path: path)
        }
        if let folder = o.tokensPath {
            guard case .transformer = c.model else {
                throw BIMTError.invalidField(
                    field: "task.path",
                    reason: "token files train a transformer (preset charlm or gpt-small), not \(c.model.familyName)")
            }
            c.task = .tokenFiles(folder: folder, vocabulary: o.vocabularySize)
        } else if o.vocabularySize != nil {
            throw BIMTError.invalidField(field: "task.vocabulary", reason: "a vocabulary size goes with token files")
        }
        switch c.model {
        case var .transformer(t):
            if o.widths != nil {
                throw BIMTError.invalidField(
                    field: "architecture.widths",
                    reason: "widths shape an MLP; a transformer is shaped by its layers, width, heads and context")
            }
            if o.activation != nil {
                throw BIMTError.invalidField(
                    field: "architecture.activation", reason: "a transformer's MLP always uses GELU")
            }
            if let layers = o.layers { t.layers = layers }
            if let width = o.width { t.width = width }
            if let heads = o.heads { t.heads = heads }
            if let context = o.context { t.context = context }
            if let dropout = o.dropout { t.dropout = dropout }
            if let modulus = o.modulus {
                guard case .modularAdditionSequence = c.task else { throw Self.modulusError(c.task) }
                c.task = .modularAdditionSequence(modulus: modulus)
                t.vocabulary = modulus + 1
                t.outputs = modulus
            }
            c.model = .transformer(t)
        case .mlp, .convNet:
            for (value, field) in [
                (o.layers, "layers"), (o.width, "width"), (o.heads, "heads"), (o.context, "context"),
                (o.dropout.map { _ in 0 }, "dropout"),
            ] where value != nil {
                throw BIMTError.invalidField(
                    field: "transformer." + field,
                    reason: "shapes a transformer; this configuration trains \(c.model.familyName)")
            }
            var a = c.model.denseArchitecture!
            if let widths = o.widths { a.widths = widths }
            if let activation = o.activation { a.activation = activation }
            if let modulus = o.modulus {
                guard case .modularAddition = c.task, var e = a.embedding else { throw Self.modulusError(c.task) }
                c.task = .modularAddition(modulus: modulus)
                e.vocabulary = modulus
                a.embedding = e
                a.widths[a.widths.count - 1] = modulus
            }
            if case let .convNet(convolution, _) = c.model {
                c.model = .convNet(convolution, head: a)
            } else {
                c.model = .mlp(a)
            }
        }
        if let seed = o.seed { c.seed = seed }
        if let steps = o.steps { c.steps = steps }
        if let method = o.relocationMethod { c.relocation.method = method }
        if let lr = o.learningRate { c.learningRate = lr }
        if let lambda = o.lambda { c.lambda = lambda }
        if let topK = o.topK { c.relocation.topK = topK }
        if let swapEvery = o.swapEvery { c.swapEvery = swapEvery }
        if let batchSize = o.batchSize { c.batchSize = batchSize }
        if let weightDecay = o.weightDecay { c.weightDecay = weightDecay }
        if let l0 = o.l0 { c.cost.l0 = l0; c.relocationCost.l0 = l0 }
        if let wf = o.weightFactor { c.cost.weightFactor = wf; c.relocationCost.weightFactor = wf }
        if let reduction = o.reduction { c.cost.reduction = reduction; c.relocationCost.reduction = reduction }
        if let last = o.lastWeightFactor { c.cost.lastWeightFactor = last }
        if let biases = o.penalizeBiases {
            c.cost.penalizeBiases = biases
            c.biasPenaltyFrom = nil
        }
        if let wf = o.relocationWeightFactor { c.relocationCost.weightFactor = wf }
        if let last = o.relocationLastWeightFactor { c.relocationCost.lastWeightFactor = last }
        if let reduction = o.relocationReduction { c.relocationCost.reduction = reduction }
        if let logEvery = o.logEvery { c.logEvery = logEvery }
        if let checkpointEvery = o.checkpointEvery { c.checkpointEvery = checkpointEvery }
        if let move = o.moveOptimizerState { c.relocation.moveOptimizerState = move }
        if o.warmupSteps != nil || o.minimumLearningRate != nil || o.decaySteps != nil {
            var schedule =
                c.learningRateSchedule ?? LearningRateSchedule(warmupSteps: 0, minimumLearningRate: c.learningRate / 10)
            if let warmup = o.warmupSteps { schedule.warmupSteps = warmup }
            if let minimum = o.minimumLearningRate { schedule.minimumLearningRate = minimum }
            if let decay = o.decaySteps { schedule.decaySteps = decay }
            c.learningRateSchedule = schedule
        }
        if let clip = o.gradientClip { c.gradientClip = clip }
        if let beta1 = o.beta1 { c.beta1 = beta1 }
        if let beta2 = o.beta2 { c.beta2 = beta2 }
        if let scope = o.weightDecayScope { c.weightDecayScope = scope }
        if let parts = o.accumulationSteps { c.accumulationSteps = parts }
        if let batches = o.evalBatches { c.evalBatches = batches }
        if let held = o.validationExamples { c.validationExamples = held }
        if let budget = o.snapshotBudget { c.snapshotBudget = budget }
        if let precision = o.precision { c.precision = precision }
        try c.validate()
        // The user's data against the model they will feed (widths, labels for the loss).
        if let userData { try c.check(userData) }
        return c
    }

    static func modulusError(_ task: TaskSpec) -> BIMTError {
        .invalidField(
            field: "task.modulus",
            reason: "a modulus sizes the modular-addition tasks (modadd, modadd-seq), not '\(task.kind)'")
    }
}
