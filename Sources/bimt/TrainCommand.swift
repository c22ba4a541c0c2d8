import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

/// Hyperparameter flags shared by `train` and `bench train`; each overrides the preset
/// (and the --config file).
struct TrainingOptions: ParsableArguments {
    @Option(help: "Preset: \(TrainingConfiguration.presetNames.joined(separator: ", ")).")
    var preset: String?

    @Option(help: "A JSON file of configuration fields (any subset) to apply over the preset.")
    var config: String?

    @Option(help: "Your own data: a safetensors file with train.inputs, train.labels, test.inputs, test.labels; or, for image presets, a folder of MNIST-format IDX files.")
    var data: String?

    @Option(help: "Layer widths, comma-separated, e.g. 4,20,20,2.")
    var shape: String?

    @Option(help: "Random seed (data split, initialization, batches).") var seed: UInt64?
    @Option(help: "Training steps.") var steps: Int?
    @Option(help: "greedy, assignment or off.") var relocation: String?
    @Option(help: "AdamW learning rate.") var lr: Float?
    @Option(help: "Initial lambda (the schedule's multipliers still apply).") var lambda: Float?
    @Option(help: "Neurons per layer that try a swap.") var topK: Int?
    @Option(help: "Relocate every N steps.") var swapEvery: Int?
    @Option(help: "Mini-batch size (default: the preset's; full batch if none).") var batchSize: Int?
    @Option(help: "AdamW weight decay.") var weightDecay: Float?
    @Option(help: "Connection cost l0 (training and swap search).") var l0: Float?
    @Option(help: "Connection cost weight factor wf (training and swap search).") var weightFactor: Float?
    @Option(help: "Cost reduction: sum or mean (training and swap search).") var reduction: String?
    @Option(help: "Training cost: wf of the last matrix (0: the image model's no_penalize_last).") var lastWeightFactor: Float?
    @Option(help: "Training cost: whether biases pay l0 |b| (true or false), throughout the run.") var penalizeBiases: Bool?
    @Option(help: "Swap search cost: weight factor wf (default: the training cost's).") var relocationWeightFactor: Float?
    @Option(help: "Swap search cost: wf of the last matrix (default: wf, as the paper scores swaps).") var relocationLastWeightFactor: Float?
    @Option(help: "Swap search cost: reduction, sum or mean (default: the training cost's).") var relocationReduction: String?
    @Option(help: "Activation: relu, silu, gelu or tanh.") var activation: String?
    @Option(help: "Log (and evaluate) every N steps.") var logEvery: Int?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int?
    @Option(help: "Modulus p for the modadd task.") var modulus: Int?
    @Option(help: "A UTF-8 text file for --preset charlm (character vocabulary from the file, 90/10 split).") var text: String?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(help: "Transformer width (residual stream).") var width: Int?
    @Option(help: "Attention heads (must divide the width).") var heads: Int?
    @Option(help: "Transformer context length.") var context: Int?
    @Flag(help: "Leave AdamW moments in place on swaps (the paper's behaviour).") var paperOptimizerState = false

    /// The resolved configuration: preset, then --config, then flags.
    func resolve() throws -> TrainingConfiguration {
        do {
            var configuration = try TrainingConfiguration.preset(preset ?? "independence")
            if let config { configuration = try ConfigurationFile.apply(path: config, over: configuration) }
            var isFolder: ObjCBool = false
            if let data, configuration.task.kind == "images" {
                guard FileManager.default.fileExists(atPath: data, isDirectory: &isFolder), isFolder.boolValue else {
                    throw ValidationError("--data for an image preset must be a folder of MNIST-format IDX files; \(data) is not a folder")
                }
                configuration.task.path = data
            } else if let data {
                configuration.preset = nil
                configuration.task = TaskSpec(kind: "safetensors", path: data)
                let task = try UserData.load(path: data)
                configuration.loss = task.train.isClassification ? .crossEntropy : .mse
                configuration.architecture.embedding = nil
                if shape == nil {
                    configuration.architecture.widths = [task.train.inputWidth, 20, 20, task.train.outputWidth]
                }
            }
            if let text {
                guard configuration.transformer != nil else {
                    throw ValidationError("--text trains a character-level transformer: use it with --preset charlm")
                }
                configuration.task = TaskSpec(kind: "text", path: text)
            }
            if var t = configuration.transformer {
                if shape != nil { throw ValidationError("--shape sets MLP widths; for a transformer use --layers, --width, --heads, --context") }
                if let layers { t.layers = layers }
                if let width { t.width = width }
                if let heads { t.heads = heads }
                if let context { t.context = context }
                if let modulus, configuration.task.kind == "modadd-seq" { t.vocabulary = modulus + 1; t.outputs = modulus }
                configuration.transformer = t
            } else if layers != nil || width != nil || heads != nil || context != nil {
                throw ValidationError("--layers, --width, --heads and --context shape a transformer preset (incontext, modadd-seq, charlm, gpt-bench)")
            }
            if let shape {
                let widths = shape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard widths.count >= 2, widths.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                    throw ValidationError("--shape must be positive widths separated by commas, e.g. 4,20,20,2; got '\(shape)'")
                }
                configuration.architecture.widths = widths.compactMap { $0 }
            }
            if let seed { configuration.seed = seed }
            if let steps { configuration.steps = steps }
            if let relocation {
                guard let method = RelocationMethod(rawValue: relocation) else {
                    throw ValidationError("--relocation must be greedy, assignment or off; got '\(relocation)'")
                }
                configuration.relocation.method = method
            }
            if let lr { configuration.learningRate = lr }
            if let lambda { configuration.lambda = lambda }
            if let topK { configuration.relocation.topK = topK }
            if let swapEvery { configuration.swapEvery = swapEvery }
            if let batchSize { configuration.batchSize = batchSize }
            if let weightDecay { configuration.weightDecay = weightDecay }
            if let l0 { configuration.cost.l0 = l0; configuration.relocationCost.l0 = l0 }
            if let weightFactor { configuration.cost.weightFactor = weightFactor; configuration.relocationCost.weightFactor = weightFactor }
            if let reduction {
                guard let value = CostReduction(rawValue: reduction) else { throw ValidationError("--reduction must be sum or mean; got '\(reduction)'") }
                configuration.cost.reduction = value
                configuration.relocationCost.reduction = value
            }
            if let lastWeightFactor { configuration.cost.lastWeightFactor = lastWeightFactor }
            if let penalizeBiases {
                configuration.cost.penalizeBiases = penalizeBiases
                configuration.biasPenaltyFrom = nil
            }
            if let relocationWeightFactor { configuration.relocationCost.weightFactor = relocationWeightFactor }
            if let relocationLastWeightFactor { configuration.relocationCost.lastWeightFactor = relocationLastWeightFactor }
            if let relocationReduction {
                guard let value = CostReduction(rawValue: relocationReduction) else {
                    throw ValidationError("--relocation-reduction must be sum or mean; got '\(relocationReduction)'")
                }
                configuration.relocationCost.reduction = value
            }
            if let activation {
                guard configuration.transformer == nil else {
                    throw ValidationError("--activation sets an MLP's or conv net's activation; a transformer's MLP always uses GELU")
                }
                guard let value = Activation(rawValue: activation) else {
                    throw ValidationError("--activation must be relu, silu, gelu or tanh; got '\(activation)'")
                }
                configuration.architecture.activation = value
            }
            if let logEvery { configuration.logEvery = logEvery }
            if let checkpointEvery { configuration.checkpointEvery = checkpointEvery }
            if let modulus {
                configuration.task.modulus = modulus
                if configuration.task.kind == "modadd", var e = configuration.architecture.embedding {
                    e.vocabulary = modulus
                    configuration.architecture.embedding = e
                    configuration.architecture.widths[configuration.architecture.widths.count - 1] = modulus
                }
            }
            if paperOptimizerState { configuration.relocation.moveOptimizerState = false }
            try configuration.validate()
            return configuration
        } catch let error as BIMTError {
            throw ValidationError(error.description)
        }
    }
}

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an MLP, conv net or transformer with BIMT (default: the paper's independence experiment).",
        discussion: """
            The run directory (--out, default runs/PRESET-TIME) receives config.json, metrics.csv and \
            checkpoint.safetensors (PyTorch-readable: layers.{i}.weight, layers.{i}.bias, embedding, \
            in_perm, out_perm). --resume DIR continues a run; --init FILE starts from given weights.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var options: TrainingOptions

    @Option(help: "Run directory.") var out: String?
    @Option(help: "Continue the run in this directory.") var resume: String?
    @Option(name: .customLong("init"), help: "Start from the weights in this safetensors file (layers.{i}.weight/bias, embedding, in_perm/out_perm).")
    var initFrom: String?
    @Flag(help: "Print only the summary.") var quiet = false
    @Option(help: "Seconds a signalled stop may take (the current step and a checkpoint) before the process exits at once.")
    var stopTimeout: Double = 30

    func validate() throws {
        guard stopTimeout > 0, stopTimeout.isFinite else { throw ValidationError("--stop-timeout must be a positive number of seconds") }
        if resume == nil {
            _ = try options.resolve()
        } else {
            // Any setting that would change the configuration, other than the step count, is refused.
            var given = try options.resolve()
            let untouched = try TrainingOptions.parse([]).resolve()
            given.steps = untouched.steps
            guard given == untouched, out == nil, initFrom == nil else {
                throw ValidationError("--resume continues a run with its own configuration (its config.json); only --steps (a new total) "
                                      + "may be given with it, not other settings, --out or --init")
            }
            if let steps = options.steps, steps < 1 { throw ValidationError("--steps must be >= 1, got \(steps)") }
        }
        if let initFrom, !FileManager.default.fileExists(atPath: initFrom) {
            throw ValidationError("--init: no file at \(initFrom)")
        }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let trainer: Trainer
        do {
            if let resume {
                trainer = try Trainer.resume(directory: URL(fileURLWithPath: resume), device: device, steps: options.steps)
                printError("resuming \(resume) at step \(trainer.step) of \(trainer.configuration.steps)")
            } else {
                let configuration = try options.resolve()
                let directory = URL(fileURLWithPath: out ?? defaultDirectory(configuration))
                if FileManager.default.fileExists(atPath: directory.appending(path: Trainer.checkpointName).path) {
                    throw ValidationError("\(directory.path) already holds a run; use --resume \(directory.path) or another --out")
                }
                trainer = try Trainer(configuration: configuration, device: device, runDirectory: directory)
                if let initFrom { try trainer.initialize(from: URL(fileURLWithPath: initFrom)) }
                printError("run directory: \(directory.path)")
            }
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        let progress = ProgressLine(total: trainer.configuration.steps, quiet: quiet)
        let final: TrainingMetrics?
        let signals = StopSignals(timeout: stopTimeout)
        do {
            final = try trainer.run(progress: { progress.report($0) }, shouldStop: { signals.requested })
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        progress.finish()
        if trainer.interrupted, let directory = trainer.runDirectory {
            printError("stopped at step \(trainer.step) by a signal; checkpoint written. Continue with: bimt train --resume \(directory.path)")
            return
        }
        if let final { print(summary(final, trainer)) }
    }

    func defaultDirectory(_ configuration: TrainingConfiguration) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/\(configuration.preset ?? configuration.task.kind)-\(formatter.string(from: Date()))"
    }

    func summary(_ m: TrainingMetrics, _ trainer: Trainer) -> String {
        var parts = ["step \(m.step)", String(format: "train loss %.4g", m.trainLoss), String(format: "test loss %.4g", m.testLoss)]
        if let last = m.testLastLoss { parts.append(String(format: "test loss at the last position %.4g", last)) }
        if let a = m.testAccuracy { parts.append(String(format: "test accuracy %.2f%%", 100 * a)) }
        if trainer.configuration.task.kind == "text" { parts.append(String(format: "test perplexity %.3f", exp(m.testLoss))) }
        parts.append(String(format: "cost %.4g", m.cost))
        parts.append(String(format: "%.1f s (%.0f steps/s)", m.seconds, Double(m.step) / max(m.seconds, 1e-9)))
        if let directory = trainer.runDirectory { parts.append("run: \(directory.path)") }
        return parts.joined(separator: ", ")
    }
}
