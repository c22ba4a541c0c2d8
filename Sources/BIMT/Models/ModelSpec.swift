import BIMTCompute

/// The network a run trains, with its architecture. In `config.json` an MLP is
/// `architecture`, a conv net `convolution` plus its dense head `architecture`, and a
/// transformer `transformer`.
public enum ModelSpec: Sendable, Equatable {
    /// A fully connected network (optionally over a token embedding).
    case mlp(MLPArchitecture)
    /// Conv blocks, then a dense head whose first width is the blocks' flattened size.
    case convNet(ConvNetArchitecture, head: MLPArchitecture)
    /// A GPT-style transformer.
    case transformer(TransformerArchitecture)

    /// "an MLP", "a conv net" or "a transformer", for messages.
    public var familyName: String {
        switch self {
        case .mlp: "an MLP"
        case .convNet: "a conv net"
        case .transformer: "a transformer"
        }
    }

    /// The MLP, or the conv net's dense head (nil for a transformer). Writes keep the
    /// family (`model.denseArchitecture?.widths = [4, 16, 2]`) and do nothing to a
    /// transformer; assign `model` itself to change the family.
    public var denseArchitecture: MLPArchitecture? {
        get {
            switch self {
            case let .mlp(a), let .convNet(_, a): a
            case .transformer: nil
            }
        }
        set {
            guard let newValue else { return }
            switch self {
            case .mlp: self = .mlp(newValue)
            case let .convNet(convolution, _): self = .convNet(convolution, head: newValue)
            case .transformer: break
            }
        }
    }

    /// The transformer's architecture (nil for the others). Writes apply to a transformer
    /// only (`model.transformerArchitecture?.heads = 8`).
    public var transformerArchitecture: TransformerArchitecture? {
        get { if case let .transformer(t) = self { t } else { nil } }
        set { if case .transformer = self, let newValue { self = .transformer(newValue) } }
    }

    /// Rows one forward pass takes at most (evaluation goes in chunks of this): a conv net's
    /// activations for 10000 images would not fit; a transformer takes about 8192 positions.
    public var maximumRows: Int {
        switch self {
        case .mlp: 1 << 16
        case .convNet: 500
        case let .transformer(t): max(1, 8192 / t.context)
        }
    }

    /// Checks the architecture on its own; the message names the field.
    public func validate() throws {
        switch self {
        case let .mlp(a): try a.validate()
        case let .convNet(convolution, head):
            try convolution.validate()
            try head.validate()
            guard head.embedding == nil else {
                throw BIMTError.invalidField(
                    field: "architecture.embedding", reason: "a conv net takes images, not tokens")
            }
            guard head.widths[0] == convolution.flattenedWidth else {
                throw BIMTError.invalidField(
                    field: "architecture.widths",
                    reason:
                        "the first width must be the conv blocks' flattened size \(convolution.flattenedWidth), "
                        + "got \(head.widths[0])"
                )
            }
        case let .transformer(t): try t.validate()
        }
    }

    /// Builds the model on `device` (parameters not yet initialized).
    public func makeModel(cost: CostSettings, relocationCost: CostSettings, swapInputs: Bool, device: Device) throws
        -> any TrainableModel
    {
        switch self {
        case let .mlp(a):
            try MLP(
                architecture: a, costSettings: cost, relocationCostSettings: relocationCost, device: device,
                swapInputs: swapInputs)
        case let .convNet(convolution, head):
            try ConvNet(
                convolution: convolution, head: head, costSettings: cost, relocationCostSettings: relocationCost,
                device: device)
        case let .transformer(t):
            try GPT(architecture: t, costSettings: cost, relocationCostSettings: relocationCost, device: device)
        }
    }

    /// Checks that `data` fits the model: input and output widths, token inputs against an
    /// embedding, sequence lengths and targets per sequence, and that cross-entropy has labels.
    public func check(_ data: TaskData, loss: LossKind) throws {
        if loss == .crossEntropy && !data.train.isClassification {
            throw BIMTError.invalidField(
                field: "loss", reason: "cross-entropy needs class labels; task '\(data.name)' is a regression (use mse)"
            )
        }
        let widths: [Int]
        switch self {
        case let .transformer(t):
            try Self.check(t, data)
            return
        case .mlp, .convNet:
            guard data.train.targetsPerExample == 1 else {
                throw BIMTError.invalidField(
                    field: "task",
                    reason:
                        "task '\(data.name)' has \(data.train.targetsPerExample) targets per example (a sequence); "
                        + "\(familyName) predicts one"
                )
            }
        }
        switch self {
        case .transformer: return
        case let .convNet(convolution, head):
            let pixels = convolution.imageHeight * convolution.imageWidth * convolution.imageChannels
            guard data.vocabulary == nil, data.train.inputWidth == pixels else {
                throw BIMTError.invalidField(
                    field: "convolution",
                    reason:
                        "the conv net takes "
                        + "\(convolution.imageHeight)x\(convolution.imageWidth)x\(convolution.imageChannels) images; "
                        + "task '\(data.name)' gives "
                        + (data.vocabulary != nil ? "tokens" : "\(data.train.inputWidth) inputs"))
            }
            widths = head.widths
        case let .mlp(a):
            widths = a.widths
            if let e = a.embedding {
                guard data.vocabulary != nil, data.train.inputWidth == e.folds, (data.vocabulary ?? 0) <= e.vocabulary
                else {
                    throw BIMTError.invalidField(
                        field: "architecture.embedding",
                        reason:
                            "the embedding takes \(e.folds) tokens from a vocabulary of \(e.vocabulary); "
                            + "task '\(data.name)' gives "
                            + "\(data.train.inputWidth) inputs"
                            + (data.vocabulary.map { " from a vocabulary of \($0)" } ?? " of real features"))
                }
            } else {
                guard data.vocabulary == nil else {
                    throw BIMTError.invalidField(
                        field: "architecture.embedding",
                        reason: "task '\(data.name)' has token inputs; the MLP needs an embedding")
                }
                guard widths[0] == data.train.inputWidth else {
                    throw BIMTError.invalidField(
                        field: "architecture.widths",
                        reason:
                            "the model's input width \(widths[0]) "
                            + "differs from the data's \(data.train.inputWidth) features"
                    )
                }
            }
        }
        guard widths.last! == data.train.outputWidth else {
            throw BIMTError.invalidField(
                field: "architecture.widths",
                reason: "the model's output width \(widths.last!) differs from the task's \(data.train.outputWidth) "
                    + (data.train.isClassification ? "classes" : "targets"))
        }
    }

    static func check(_ t: TransformerArchitecture, _ task: TaskData) throws {
        let data = task.train, perPosition = t.valuesPerPosition
        if let vocabulary = t.vocabulary {
            guard let taskVocabulary = task.vocabulary, taskVocabulary <= vocabulary else {
                throw BIMTError.invalidField(
                    field: "transformer.vocabulary",
                    reason:
                        "the transformer takes tokens from a vocabulary of \(vocabulary); task '\(task.name)' gives "
                        + (task.vocabulary.map { "tokens from a vocabulary of \($0)" } ?? "real features"))
            }
        } else {
            guard task.vocabulary == nil, data.inputWidth % perPosition == 0 else {
                throw BIMTError.invalidField(
                    field: "transformer.inputFeatures",
                    reason:
                        "the transformer takes \(perPosition) real features per position; task '\(task.name)' gives "
                        + (task.vocabulary != nil ? "tokens" : "\(data.inputWidth) values per example"))
            }
        }
        let length = data.inputWidth / perPosition
        guard length <= t.context else {
            throw BIMTError.invalidField(
                field: "transformer.context",
                reason:
                    "task '\(task.name)' has sequences of \(length) positions, "
                    + "longer than the model's context of \(t.context)"
            )
        }
        let expected = t.predictedPositions(length: length).count
        guard data.targetsPerExample == expected else {
            throw BIMTError.invalidField(
                field: "transformer.predictionStride",
                reason:
                    "task '\(task.name)' has \(data.targetsPerExample) targets per sequence; "
                    + "the model predicts \(expected)"
                    + (t.lastPositionOnly
                        ? " (the last position)"
                        : t.predictionStride == 1 ? " (one per position)" : " (every \(t.predictionStride)th position)")
            )
        }
        guard data.outputWidth == t.scoredOutputs else {
            throw BIMTError.invalidField(
                field: "transformer.outputs",
                reason:
                    "the transformer's \(t.scoredOutputs) predicted outputs differ from the task's \(data.outputWidth) "
                    + (data.isClassification ? "classes" : "targets"))
        }
    }
}
