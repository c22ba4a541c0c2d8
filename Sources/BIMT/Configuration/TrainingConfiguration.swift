import BIMTCompute
import Foundation

/// Everything that defines a training run: the task, the model, its two connection costs,
/// and the training options; saved as `config.json` in the run directory. The options'
/// fields read and write through the configuration (`configuration.steps`).
@dynamicMemberLookup
public struct TrainingConfiguration: Sendable, Equatable {
    /// The preset this configuration started from (nil: changed beyond a preset's task).
    public var preset: String?
    /// The data.
    public var task: TaskSpec
    /// The network.
    public var model: ModelSpec
    /// The connection cost training adds to the loss (`cost.lastWeightFactor` 0 is the image
    /// model's `no_penalize_last`).
    public var cost: CostSettings
    /// The connection cost the swap search minimizes. The paper scores swaps with wf on
    /// every matrix even where training leaves the last one out, and S4 trains with wf 1 but
    /// relocates with wf 2.
    public var relocationCost: CostSettings
    /// Whether an MLP's input neurons take part in swaps.
    public var swapInputs: Bool
    /// How it is trained.
    public var options: TrainingOptions

    /// A configuration; `relocationCost` defaults to `cost` with wf on every matrix.
    public init(
        preset: String? = nil, task: TaskSpec, model: ModelSpec, cost: CostSettings,
        relocationCost: CostSettings? = nil,
        swapInputs: Bool = true, options: TrainingOptions
    ) {
        self.preset = preset
        self.task = task
        self.model = model
        self.cost = cost
        self.relocationCost = relocationCost ?? cost.penalizingLast
        self.swapInputs = swapInputs
        self.options = options
    }

    /// The training options' fields, read and written in place.
    public subscript<Value>(dynamicMember keyPath: WritableKeyPath<TrainingOptions, Value>) -> Value {
        get { options[keyPath: keyPath] }
        set { options[keyPath: keyPath] = newValue }
    }

    /// Checks every field, and that the model can train on the task; the error names the
    /// field. Nothing is read from disk (see `check(_:)` for the data themselves).
    public func validate() throws {
        try model.validate()
        try options.validate()
        try cost.validate("cost")
        try relocationCost.validate("relocationCost")
        switch model {
        case .mlp:
            if task.isSequenceTask {
                throw BIMTError.invalidField(
                    field: "task", reason: "'\(task.kind)' is a sequence task for a transformer, not an MLP")
            }
        case .convNet:
            guard task.suitsConvNet else {
                throw BIMTError.invalidField(
                    field: "task",
                    reason: "a conv net trains on images (task 'images' or 'safetensors'), not on '\(task.kind)'")
            }
        case .transformer:
            // A sequence task, or the user's own table read as sequences of the transformer's features.
            if case .userData = task { break }
            guard task.isSequenceTask else {
                throw BIMTError.invalidField(
                    field: "task", reason: "a transformer trains on sequences; '\(task.kind)' is not a sequence task")
            }
        }
        if case .text(nil) = task { throw TaskSpec.missingText }
    }

    /// Checks that `data` fit this configuration's model (widths, vocabulary, sequence
    /// lengths, labels for cross-entropy).
    public func check(_ data: TaskData) throws {
        try model.check(data, loss: options.loss)
    }

    /// Builds the task's data (sequence tasks take their sizes from the transformer); with
    /// `validationExamples`, its evaluation split is that many examples held out of training.
    public func makeTask() throws -> TaskData {
        let data = try task.makeData(for: model, seed: options.seed)
        guard let held = options.validationExamples else { return data }
        return try data.holdingOut(held, seed: options.seed)
    }

    /// The configuration evaluating on its task's test split (`validationExamples` dropped):
    /// what reports a run's final figures on data no setting was chosen by.
    public var evaluatingOnTest: TrainingConfiguration {
        var c = self
        c.validationExamples = nil
        return c
    }

    /// The configuration with what is known only once the data are read: a text or token-file
    /// task's vocabulary as the transformer's input and output size.
    public func fitted(to data: TaskData) -> TrainingConfiguration {
        switch task {
        case .text, .tokenFiles: break
        default: return self
        }
        guard case var .transformer(t) = model, let vocabulary = data.vocabulary else { return self }
        t.vocabulary = vocabulary
        t.outputs = vocabulary
        var result = self
        result.model = .transformer(t)
        return result
    }
}

extension TrainingConfiguration: Codable {
    enum CodingKeys: String, CodingKey {
        case preset, task, architecture, convolution, transformer, cost, relocationCost, swapInputs
        /// Written by earlier versions: wf 0 on the last matrix during training.
        case noPenalizeLast
    }

    /// Reads `config.json`: the options' fields sit beside the others at the top level. An
    /// MLP is `architecture`, a conv net `convolution` plus its head `architecture`, a
    /// transformer `transformer` (earlier versions also wrote an unused `architecture`
    /// beside it, which is ignored).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        preset = try c.decodeIfPresent(String.self, forKey: .preset)
        task = try c.decode(TaskSpec.self, forKey: .task)
        let convolution = try c.decodeIfPresent(ConvNetArchitecture.self, forKey: .convolution)
        if let transformer = try c.decodeIfPresent(TransformerArchitecture.self, forKey: .transformer) {
            guard convolution == nil else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: [CodingKeys.convolution],
                        debugDescription: "a configuration has either transformer or convolution, not both"))
            }
            model = .transformer(transformer)
        } else {
            let architecture = try c.decode(MLPArchitecture.self, forKey: .architecture)
            model = convolution.map { .convNet($0, head: architecture) } ?? .mlp(architecture)
        }
        cost = try c.decode(CostSettings.self, forKey: .cost)
        if try c.decodeIfPresent(Bool.self, forKey: .noPenalizeLast) == true, cost.lastWeightFactor == nil {
            cost.lastWeightFactor = 0
        }
        // Without one (files of earlier versions, or a config that leaves it out): the training
        // cost with wf on every matrix, the paper's rule.
        relocationCost = try c.decodeIfPresent(CostSettings.self, forKey: .relocationCost) ?? cost.penalizingLast
        swapInputs = try c.decode(Bool.self, forKey: .swapInputs)
        options = try TrainingOptions(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(preset, forKey: .preset)
        try c.encode(task, forKey: .task)
        switch model {
        case let .mlp(a): try c.encode(a, forKey: .architecture)
        case let .convNet(convolution, head):
            try c.encode(head, forKey: .architecture)
            try c.encode(convolution, forKey: .convolution)
        case let .transformer(t): try c.encode(t, forKey: .transformer)
        }
        try c.encode(cost, forKey: .cost)
        try c.encode(relocationCost, forKey: .relocationCost)
        try c.encode(swapInputs, forKey: .swapInputs)
        try options.encode(to: encoder)
    }
}
