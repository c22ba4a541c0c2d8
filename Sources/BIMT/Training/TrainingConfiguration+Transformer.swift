/// The transformer presets and sequence tasks (docs/METHOD.md, "Transformers").
extension TrainingConfiguration {
    /// incontext: the paper's in-context linear regression exactly as its reference runs it
    /// (d = 1, T = 2; width 32, 2 blocks of 1-head attention and a GELU MLP of 128, no
    /// LayerNorm, no positions; every y predicted at its x token from feature 0 of a 2-output
    /// map; biases penalized; swaps off as published, `--relocation greedy` swaps every
    /// 1000 steps, the reference's alternative). modadd-seq: "a b =" -> (a + b) mod 113 with one
    /// layer of width 128 and 4 heads. charlm: a character-level GPT (4 layers, width 128,
    /// 4 heads, context 64) on `task.path`. gpt-bench: charlm's model on random tokens from
    /// a vocabulary of 65 (for timing).
    static func transformerPreset(_ name: String) -> TrainingConfiguration {
        let cost = CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean)
        func make(_ task: TaskSpec, _ t: TransformerArchitecture, loss: LossKind, steps: Int, lr: Float, weightDecay: Float,
                  batch: Int?, lambda: Float, schedule: [LambdaChange], swapEvery: Int, logEvery: Int,
                  cost: CostSettings = cost, relocation: RelocationMethod = .greedy) -> TrainingConfiguration {
            TrainingConfiguration(
                preset: name, task: task, architecture: t.placeholderMLP, convolution: nil,
                transformer: t, loss: loss, steps: steps, learningRate: lr, weightDecay: weightDecay, batchSize: batch, seed: 1,
                lambda: lambda, lambdaSchedule: schedule, cost: cost, biasPenaltyFrom: nil, relocationCost: cost,
                relocation: RelocationSettings(method: relocation, topK: 16), swapEvery: swapEvery, swapInputs: false,
                logEvery: logEvery, checkpointEvery: logEvery * 10)
        }
        switch name {
        case "incontext":
            var paperCost = cost
            paperCost.penalizeBiases = true
            return make(TaskSpec(kind: "incontext"),
                        TransformerArchitecture(layers: 2, width: 32, heads: 1, context: 3, inputFeatures: 2, outputs: 2,
                                                predictionStride: 2, predictedOutputs: 1, layerNorm: false, positionalEmbedding: false),
                        loss: .mse, steps: 40000, lr: 1e-3, weightDecay: 0, batch: 64, lambda: 1e-3,
                        schedule: [LambdaChange(fraction: 0.25, factor: 10), LambdaChange(fraction: 0.75, factor: 10)],
                        swapEvery: 1000, logEvery: 500, cost: paperCost, relocation: .off)
        case "modadd-seq":
            return make(TaskSpec(kind: "modadd-seq", modulus: 113),
                        TransformerArchitecture(layers: 1, width: 128, heads: 4, context: 3, vocabulary: 114, outputs: 113,
                                                lastPositionOnly: true),
                        loss: .crossEntropy, steps: 3000, lr: 1e-3, weightDecay: 1, batch: 512, lambda: 1e-3,
                        schedule: [LambdaChange(fraction: 0.5, factor: 10)], swapEvery: 200, logEvery: 100)
        case "charlm", "gpt-bench":
            return make(TaskSpec(kind: name == "charlm" ? "text" : "random-tokens"),
                        TransformerArchitecture(layers: 4, width: 128, heads: 4, context: 64, vocabulary: 65, outputs: 65),
                        loss: .crossEntropy, steps: 5000, lr: 1e-3, weightDecay: 0.1, batch: 32, lambda: 1e-4, schedule: [],
                        swapEvery: 500, logEvery: 250)
        default:
            preconditionFailure("not a transformer preset: \(name)")
        }
    }

    func makeSequenceTask() throws -> TaskData {
        guard let t = transformer else {
            throw BIMTError.invalidSetting("task '\(task.kind)' is a sequence task; it needs a transformer (e.g. --preset modadd-seq)")
        }
        switch task.kind {
        case "modadd-seq": return try Tasks.modularAdditionSequence(modulus: task.modulus ?? 113, seed: seed)
        case "incontext":
            guard let features = t.inputFeatures, features >= 2, t.context % 2 == 1 else {
                throw BIMTError.invalidSetting("in-context regression needs real inputs of d + 1 >= 2 features and an odd context (2T - 1)")
            }
            return try Tasks.inContextRegression(dimension: features - 1, pairs: (t.context + 1) / 2, seed: seed)
        case "random-tokens": return try Tasks.randomTokens(vocabulary: t.vocabulary ?? 65, length: t.context, seed: seed)
        default:
            guard let path = task.path else { throw BIMTError.invalidSetting("a text task needs a file: --text FILE") }
            return try CharacterText.task(path: path, context: t.context)
        }
    }

    /// The configuration with a text task's vocabulary (known once the file is read) as the
    /// transformer's input and output size.
    public func fitted(to data: TaskData) -> TrainingConfiguration {
        guard task.kind == "text", var t = transformer, let vocabulary = data.vocabulary else { return self }
        t.vocabulary = vocabulary
        t.outputs = vocabulary
        var result = self
        result.transformer = t
        result.architecture = t.placeholderMLP
        return result
    }
}
