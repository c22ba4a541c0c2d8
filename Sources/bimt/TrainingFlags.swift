import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

extension RelocationMethod: ExpressibleByArgument {}
extension CostReduction: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension WeightDecayScope: ExpressibleByArgument {}
extension PrecisionSetting: ExpressibleByArgument {}

/// Hyperparameter flags shared by `train` and `bench train`; each overrides the preset
/// (and the --config file). The library applies them (`TrainingConfiguration.applying`);
/// this adds the flag names to its errors.
struct TrainingFlags: ParsableArguments {
    @Option(help: "Preset: \(TrainingConfiguration.presetNames.joined(separator: ", ")).")
    var preset: String?

    @Option(help: "A JSON file of configuration fields (any subset) to apply over the preset.")
    var config: String?

    @Option(
        help: """
            Your own data: a safetensors file with train.inputs, train.labels, test.inputs, test.labels; or, for \
            image presets, a folder of MNIST-format IDX files.
            """
    )
    var data: String?

    @Option(help: "Layer widths, comma-separated, e.g. 4,20,20,2.")
    var shape: String?

    @Option(help: "Random seed (data split, initialization, batches).") var seed: UInt64?
    @Option(help: "Training steps.") var steps: Int?
    @Option(help: "greedy, assignment or off.") var relocation: RelocationMethod?
    @Option(help: "AdamW learning rate.") var lr: Float?
    @Option(help: "Initial lambda (the schedule's multipliers still apply).") var lambda: Float?
    @Option(help: "Neurons per layer that try a swap.") var topK: Int?
    @Option(help: "Relocate every N steps.") var swapEvery: Int?
    @Option(help: "Mini-batch size (default: the preset's; full batch if none).") var batchSize: Int?
    @Option(help: "AdamW weight decay.") var weightDecay: Float?
    @Option(help: "Connection cost l0 (training and swap search).") var l0: Float?
    @Option(help: "Connection cost weight factor wf (training and swap search).") var weightFactor: Float?
    @Option(help: "Cost reduction: sum or mean (training and swap search).") var reduction: CostReduction?
    @Option(help: "Training cost: wf of the last matrix (0: the image model's no_penalize_last).") var lastWeightFactor:
        Float?
    @Option(help: "Training cost: whether biases pay l0 |b| (true or false), throughout the run.") var penalizeBiases:
        Bool?
    @Option(help: "Swap search cost: weight factor wf (default: the training cost's).") var relocationWeightFactor:
        Float?
    @Option(help: "Swap search cost: wf of the last matrix (default: wf, as the paper scores swaps).")
    var relocationLastWeightFactor: Float?
    @Option(help: "Swap search cost: reduction, sum or mean (default: the training cost's).") var relocationReduction:
        CostReduction?
    @Option(help: "Activation: relu, silu, gelu or tanh.") var activation: Activation?
    @Option(help: "Log (and evaluate) every N steps.") var logEvery: Int?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int?
    @Option(help: "Modulus p for the modadd and modadd-seq tasks.") var modulus: Int?
    @Option(help: "A UTF-8 text file for --preset charlm (character vocabulary from the file, 90/10 split).") var text:
        String?
    @Option(
        help: """
            A folder of nanoGPT token files (train.bin, val.bin: uint16 ids; meta.json with vocab_size) for a \
            transformer preset.
            """
    ) var tokens: String?
    @Option(help: "The token files' vocabulary size (default: meta.json's vocab_size).") var vocabSize: Int?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(help: "Transformer width (residual stream).") var width: Int?
    @Option(help: "Attention heads (must divide the width).") var heads: Int?
    @Option(help: "Transformer context length.") var context: Int?
    @Option(help: "Transformer dropout rate in training (embeddings, attention, residual branches).") var dropout:
        Float?
    @Flag(help: "Leave AdamW moments in place on swaps (the paper's behaviour).") var paperOptimizerState = false
    @Option(help: "Linear warmup steps, then cosine decay of the learning rate (nanoGPT's schedule).") var warmupSteps:
        Int?
    @Option(help: "The rate the cosine decays to (default with a schedule: lr / 10).") var minLr: Float?
    @Option(help: "The step the cosine decay ends at (default: the last).") var decaySteps: Int?
    @Option(help: "Clip the gradient to this global L2 norm.") var gradClip: Float?
    @Option(help: "AdamW beta1.") var beta1: Float?
    @Option(help: "AdamW beta2.") var beta2: Float?
    @Option(help: "Weight decay on all parameters, or on matrices only (nanoGPT: not biases or LayerNorm).")
    var weightDecayScope: WeightDecayScope?
    @Option(help: "Micro-batches per step (must divide the batch size).") var accumulationSteps: Int?
    @Option(help: "Evaluate on this many test batches (the same ones every time; default: the whole test split).")
    var evalBatches: Int?
    @Option(
        help: """
            Hold out N training examples (seeded) as the evaluation set; the run never evaluates on its test \
            split (bimt analyze RUN --test-split does).
            """)
    var validation: Int?
    @Option(
        help: """
            MiB the run's network snapshots for 'bimt view' may take (older frames are thinned past it; 0: none; \
            default 50).
            """
    )
    var snapshotBudget: Double?
    @Option(
        help: """
            Matrix products in fp32, bf16 (bfloat16 operands, fp32 accumulation; weights, gradients and \
            optimizer state stay fp32) or auto (bf16 where the device computes it natively). Default: the \
            preset's (auto for charlm, gpt-small, convnet and convnet-large; fp32 for the paper's).
            """)
    var precision: PrecisionSetting?

    /// The flag that sets each configuration field, for the library's errors.
    static let flagNames: [String: String] = [
        "preset": "--preset", "task": "--preset/--data/--text", "task.path": "--data/--text/--tokens",
        "task.vocabulary": "--vocab-size", "task.modulus": "--modulus",
        "architecture.widths": "--shape", "architecture.activation": "--activation",
        "architecture.embedding": "--shape",
        "transformer.layers": "--layers", "transformer.width": "--width", "transformer.heads": "--heads",
        "transformer.context": "--context", "transformer.dropout": "--dropout",
        "steps": "--steps", "learningRate": "--lr", "weightDecay": "--weight-decay", "batchSize": "--batch-size",
        "lambda": "--lambda",
        "relocation.topK": "--top-k", "swapEvery": "--swap-every", "logEvery": "--log-every",
        "checkpointEvery": "--checkpoint-every",
        "cost": "--l0/--weight-factor/--last-weight-factor",
        "relocationCost": "--l0/--weight-factor/--relocation-weight-factor/--relocation-last-weight-factor",
        "loss": "--preset/--config", "learningRateSchedule.warmupSteps": "--warmup-steps",
        "learningRateSchedule.minimumLearningRate": "--min-lr", "learningRateSchedule.decaySteps": "--decay-steps",
        "gradientClip": "--grad-clip", "beta1": "--beta1", "beta2": "--beta2",
        "accumulationSteps": "--accumulation-steps", "evalBatches": "--eval-batches",
        "validationExamples": "--validation",
        "snapshotBudget": "--snapshot-budget", "runDirectory": "--out", "precision": "--precision",
    ]

    /// A library error found while building or setting up a run: a field that cannot work (on
    /// its own, with the data or with the device) is a usage error (exit 64, naming the flag);
    /// anything else, a file that cannot be read included, a runtime failure (exit 1).
    static func failure(_ error: BIMTError) -> Error {
        if case .invalidField = error { return ValidationError(message(error)) }
        return RuntimeFailure(message(error))
    }

    /// A library error with the flag that sets the field it names.
    static func message(_ error: BIMTError) -> String {
        guard case let .invalidField(field, reason) = error, let flag = flagNames[field] else {
            return error.description
        }
        return "\(flag) (\(field)): \(reason)"
    }

    var overrides: TrainingConfiguration.Overrides {
        get throws {
            var o = TrainingConfiguration.Overrides()
            if let shape {
                let widths = shape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard widths.count >= 2, widths.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                    throw ValidationError(
                        "--shape must be positive widths separated by commas, e.g. 4,20,20,2; got '\(shape)'")
                }
                o.widths = widths.compactMap { $0 }
            }
            o.dataPath = data
            o.textPath = text
            o.tokensPath = tokens
            o.vocabularySize = vocabSize
            o.seed = seed
            o.steps = steps
            o.relocationMethod = relocation
            o.learningRate = lr
            o.lambda = lambda
            o.topK = topK
            o.swapEvery = swapEvery
            o.batchSize = batchSize
            o.weightDecay = weightDecay
            o.l0 = l0
            o.weightFactor = weightFactor
            o.reduction = reduction
            o.lastWeightFactor = lastWeightFactor
            o.penalizeBiases = penalizeBiases
            o.relocationWeightFactor = relocationWeightFactor
            o.relocationLastWeightFactor = relocationLastWeightFactor
            o.relocationReduction = relocationReduction
            o.activation = activation
            o.logEvery = logEvery
            o.checkpointEvery = checkpointEvery
            o.modulus = modulus
            o.layers = layers
            o.width = width
            o.heads = heads
            o.context = context
            o.dropout = dropout
            if paperOptimizerState { o.moveOptimizerState = false }
            o.warmupSteps = warmupSteps
            o.minimumLearningRate = minLr
            o.decaySteps = decaySteps
            o.gradientClip = gradClip
            o.beta1 = beta1
            o.beta2 = beta2
            o.weightDecayScope = weightDecayScope
            o.accumulationSteps = accumulationSteps
            o.evalBatches = evalBatches
            o.validationExamples = validation
            o.snapshotBudget = snapshotBudget
            o.precision = precision
            return o
        }
    }

    /// The resolved configuration: preset, then --config, then flags.
    func resolve() throws -> TrainingConfiguration {
        do {
            var configuration = try TrainingConfiguration.preset(preset ?? "independence")
            if let config { configuration = try ConfigurationFile.apply(path: config, over: configuration) }
            return try configuration.applying(try overrides)
        } catch let error as BIMTError {
            throw Self.failure(error)
        }
    }
}
