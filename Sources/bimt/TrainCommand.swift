import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

extension RelocationMethod: ExpressibleByArgument {}
extension CostReduction: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension WeightDecayScope: ExpressibleByArgument {}

/// Hyperparameter flags shared by `train` and `bench train`; each overrides the preset
/// (and the --config file). The library applies them (`TrainingConfiguration.applying`);
/// this adds the flag names to its errors.
struct TrainingFlags: ParsableArguments {
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
    @Option(help: "Training cost: wf of the last matrix (0: the image model's no_penalize_last).") var lastWeightFactor: Float?
    @Option(help: "Training cost: whether biases pay l0 |b| (true or false), throughout the run.") var penalizeBiases: Bool?
    @Option(help: "Swap search cost: weight factor wf (default: the training cost's).") var relocationWeightFactor: Float?
    @Option(help: "Swap search cost: wf of the last matrix (default: wf, as the paper scores swaps).") var relocationLastWeightFactor: Float?
    @Option(help: "Swap search cost: reduction, sum or mean (default: the training cost's).") var relocationReduction: CostReduction?
    @Option(help: "Activation: relu, silu, gelu or tanh.") var activation: Activation?
    @Option(help: "Log (and evaluate) every N steps.") var logEvery: Int?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int?
    @Option(help: "Modulus p for the modadd and modadd-seq tasks.") var modulus: Int?
    @Option(help: "A UTF-8 text file for --preset charlm (character vocabulary from the file, 90/10 split).") var text: String?
    @Option(help: "A folder of nanoGPT token files (train.bin, val.bin: uint16 ids; meta.json with vocab_size) for a transformer preset.") var tokens: String?
    @Option(help: "The token files' vocabulary size (default: meta.json's vocab_size).") var vocabSize: Int?
    @Option(help: "Transformer blocks.") var layers: Int?
    @Option(help: "Transformer width (residual stream).") var width: Int?
    @Option(help: "Attention heads (must divide the width).") var heads: Int?
    @Option(help: "Transformer context length.") var context: Int?
    @Option(help: "Transformer dropout rate in training (embeddings, attention, residual branches).") var dropout: Float?
    @Flag(help: "Leave AdamW moments in place on swaps (the paper's behaviour).") var paperOptimizerState = false
    @Option(help: "Linear warmup steps, then cosine decay of the learning rate (nanoGPT's schedule).") var warmupSteps: Int?
    @Option(help: "The rate the cosine decays to (default with a schedule: lr / 10).") var minLr: Float?
    @Option(help: "The step the cosine decay ends at (default: the last).") var decaySteps: Int?
    @Option(help: "Clip the gradient to this global L2 norm.") var gradClip: Float?
    @Option(help: "AdamW beta1.") var beta1: Float?
    @Option(help: "AdamW beta2.") var beta2: Float?
    @Option(help: "Weight decay on all parameters, or on matrices only (nanoGPT: not biases or LayerNorm).") var weightDecayScope: WeightDecayScope?
    @Option(help: "Micro-batches per step (must divide the batch size).") var accumulationSteps: Int?
    @Option(help: "Evaluate on this many test batches (the same ones every time; default: the whole test split).") var evalBatches: Int?
    @Option(help: """
        Hold out N training examples (seeded) as the evaluation set; the run never evaluates on its test \
        split (bimt analyze RUN --test-split does).
        """)
    var validation: Int?
    @Option(help: "MiB the run's network snapshots for 'bimt view' may take (older frames are thinned past it; 0: none; default 50).")
    var snapshotBudget: Double?

    /// The flag that sets each configuration field, for the library's errors.
    static let flagNames: [String: String] = [
        "preset": "--preset", "task": "--preset/--data/--text", "task.path": "--data/--text/--tokens", "task.vocabulary": "--vocab-size", "task.modulus": "--modulus",
        "architecture.widths": "--shape", "architecture.activation": "--activation", "architecture.embedding": "--shape",
        "transformer.layers": "--layers", "transformer.width": "--width", "transformer.heads": "--heads", "transformer.context": "--context", "transformer.dropout": "--dropout",
        "steps": "--steps", "learningRate": "--lr", "weightDecay": "--weight-decay", "batchSize": "--batch-size", "lambda": "--lambda",
        "relocation.topK": "--top-k", "swapEvery": "--swap-every", "logEvery": "--log-every", "checkpointEvery": "--checkpoint-every",
        "cost": "--l0/--weight-factor/--last-weight-factor",
        "relocationCost": "--l0/--weight-factor/--relocation-weight-factor/--relocation-last-weight-factor",
        "loss": "--preset/--config", "learningRateSchedule.warmupSteps": "--warmup-steps",
        "learningRateSchedule.minimumLearningRate": "--min-lr", "learningRateSchedule.decaySteps": "--decay-steps",
        "gradientClip": "--grad-clip", "beta1": "--beta1", "beta2": "--beta2",
        "accumulationSteps": "--accumulation-steps", "evalBatches": "--eval-batches",
        "validationExamples": "--validation",
        "snapshotBudget": "--snapshot-budget",
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
        guard case let .invalidField(field, reason) = error, let flag = flagNames[field] else { return error.description }
        return "\(flag) (\(field)): \(reason)"
    }

    var overrides: TrainingConfiguration.Overrides {
        get throws {
            var o = TrainingConfiguration.Overrides()
            if let shape {
                let widths = shape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard widths.count >= 2, widths.allSatisfy({ ($0 ?? 0) >= 1 }) else {
                    throw ValidationError("--shape must be positive widths separated by commas, e.g. 4,20,20,2; got '\(shape)'")
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
    @OptionGroup var options: TrainingFlags

    @Option(help: "Run directory.") var out: String?
    @Option(help: "Continue the run in this directory.") var resume: String?
    @Option(name: .customLong("init"), help: "Start from the weights in this safetensors file (layers.{i}.weight/bias, embedding, in_perm/out_perm).")
    var initFrom: String?
    @Flag(help: "Print only the summary.") var quiet = false
    @Flag(help: "Rewrite RUN/view.html (bimt view's page) at every checkpoint: refresh the browser to see where the run is.")
    var view = false
    @Flag(help: "Read the data, print the memory plan (parameters, optimizer state, data, activations) and exit without training.")
    var dryRun = false
    @Option(help: "Seconds a signalled stop may take (the current step and a checkpoint) before the process exits at once.")
    var stopTimeout: Double = 30
    @Option(help: "Under mpirun: seconds a rank waits for the others before it checks they are alive; one that does not answer (dead or hung) stops the job.")
    var rankTimeout: Double = 30

    func validate() throws {
        guard stopTimeout > 0, stopTimeout.isFinite else { throw ValidationError("--stop-timeout must be a positive number of seconds") }
        guard rankTimeout > 0, rankTimeout.isFinite else { throw ValidationError("--rank-timeout must be a positive number of seconds") }
        if resume == nil {
            _ = try options.resolve()
        } else {
            // Any setting that would change the configuration, other than the step count, is refused.
            var given = try options.resolve()
            let untouched = try TrainingFlags.parse([]).resolve()
            given.steps = untouched.steps
            guard given == untouched, out == nil, initFrom == nil else {
                throw ValidationError("--resume continues a run with its own configuration (its config.json); only --steps (a new total) "
                                      + "may be given with it, not other settings, --out or --init")
            }
            if let steps = options.steps, steps < 1 { throw ValidationError("--steps must be >= 1, got \(steps)") }
        }
        if let initFrom, !FileManager.default.fileExists(atPath: initFrom) {
            throw RuntimeFailure("--init: no file at \(initFrom)")
        }
    }

    func run() throws {
        // Started by mpirun (or srun): one process of a data-parallel run.
        let group: MPIProcessGroup?
        do { group = try MPIProcessGroup.start(timeout: rankTimeout) } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        guard let group else { return try train(group: nil) }
        do {
            try train(group: group)
        } catch let failure as AgreedFailure {
            // Every rank has the same error: end MPI cleanly, each rank reports it in one write (the
            // ranks share the stream, and a message written in parts interleaves with another rank's).
            group.finish()
            printError("Error: " + failure.description)
            throw ExitCode.failure
        } catch {
            // Only this rank may know: stop the whole job rather than leave the others waiting.
            group.abort("\(error)")
        }
        group.finish()
    }

    /// Trains alone, or as one rank of `group` (which then agrees on every setup failure
    /// before anything is written).
    func train(group: MPIProcessGroup?) throws {
        let rank = group?.rank ?? 0
        if let group {
            Device.limitCPUThreads(Device.cpuThreads / group.localSize)
            printError("rank \(group.rank) of \(group.size) on \(group.hostName) (local rank \(group.localRank) of \(group.localSize)): "
                       + "pid \(ProcessInfo.processInfo.processIdentifier), \(Device.cpuThreads) CPU thread(s)")
        }
        func agreed<T>(_ what: String, _ body: () throws -> T) throws -> T {
            guard let group else { return try body() }
            do { return try group.agreeing(what, body) } catch { throw AgreedFailure(error) }
        }
        let device = try agreed("opening the devices") {
            try deviceOptions.open(localRank: group?.localRank ?? 0, of: group?.localSize ?? 1, rank: group?.rank)
        }
        if let group {
            // Every rank must run the same configuration: the flags, the --config file and the preset, resolved.
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let resolved = resume == nil ? try encoder.encode(try options.resolve()) : Data()
            let fingerprint = fnv1a64(Array("\(resume ?? "")\u{0}\(options.steps.map(String.init) ?? "")\u{0}".utf8) + Array(resolved))
            do { try group.requireSame(fingerprint, "the configuration (preset, --config file, flags, --resume)") } catch {
                throw AgreedFailure(error)
            }
        }
        if dryRun {
            do {
                let configuration = try options.resolve()
                let plan = try configuration.prepared(for: try configuration.makeTask(), on: device,
                                                      ranks: group?.size ?? 1).plan
                print(plan)
                try plan.check()
                print("fits: \(plan.totalBytes / 1_048_576) MiB of \(plan.deviceBytes / 1_048_576) MiB")
            } catch let error as BIMTError {
                throw TrainingFlags.failure(error)
            }
            return
        }
        let trainer: Trainer = try agreed("setting up the run") {
            do {
                if let resume {
                    let trainer = try Trainer.resume(directory: URL(fileURLWithPath: resume), device: device, steps: options.steps,
                                                     processGroup: group)
                    if rank == 0 { printError("resuming \(resume) at step \(trainer.step) of \(trainer.options.steps)") }
                    return trainer
                }
                let configuration = try options.resolve()
                let directory = URL(fileURLWithPath: out ?? defaultDirectory(configuration))
                if rank == 0 && FileManager.default.fileExists(atPath: directory.appending(path: Trainer.checkpointName).path) {
                    throw ValidationError("\(directory.path) already holds a run; use --resume \(directory.path) or another --out")
                }
                let trainer = try Trainer(configuration: configuration, device: device, runDirectory: directory, processGroup: group)
                if let plan = trainer.memoryPlan, !quiet, rank == 0 { printError(plan.description) }
                if let initFrom { try trainer.initialize(from: URL(fileURLWithPath: initFrom)) }
                if rank == 0 { printError("run directory: \(directory.path)" + (group.map { " (\($0.size) ranks)" } ?? "")) }
                return trainer
            } catch let error as BIMTError {
                throw TrainingFlags.failure(error)
            }
        }
        if let group {
            // Every rank must train on the same data (the same files, read the same way).
            let data = trainer.dataFingerprint
            // The hash covers the counts too.
            do { try group.requireSame(UInt64(data.hash, radix: 16) ?? 0, "the data (rank 0: \(data))") } catch {
                throw AgreedFailure(error)
            }
        }
        let progress = ProgressLine(total: trainer.options.steps, quiet: quiet || rank != 0)
        let final: TrainingMetrics?
        let signals = StopSignals(timeout: stopTimeout)
        do {
            final = try trainer.run(progress: { progress.report($0) }, shouldStop: { signals.requested }, checkpointed: {
                guard view, let directory = trainer.runDirectory else { return }
                // Drawn on the CPU path, away from the training device's buffers.
                let (html, _) = try RunViewer.html(runDirectory: directory)
                try Data(html.utf8).write(to: directory.appending(path: "view.html"), options: .atomic)
            })
        } catch let error as BIMTError {
            throw RuntimeFailure(TrainingFlags.message(error))
        }
        progress.finish()
        guard rank == 0 else { return }
        if let plan = trainer.memoryPlan, !quiet {
            printError(String(format: "device buffers at the end: %.1f MiB (planned %.1f MiB)",
                              Double(4 * Buffer.liveElementCount) / 1_048_576, Double(plan.totalBytes) / 1_048_576))
        }
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
        // A run holding out validation examples never evaluates on its test split: its figures are
        // validation figures.
        let split = trainer.options.evaluationSplitName
        var parts = ["step \(m.step)", String(format: "train loss %.4g", m.trainLoss),
                     String(format: "\(split) loss %.4g", m.testLoss)]
        if let last = m.testLastLoss { parts.append(String(format: "\(split) loss at the last position %.4g", last)) }
        if let a = m.testAccuracy { parts.append(String(format: "\(split) accuracy %.2f%%", 100 * a)) }
        if case .text = trainer.configuration?.task {
            parts.append(String(format: "\(split) perplexity %.3f", exp(m.testLoss)))
        }
        parts.append(String(format: "cost %.4g", m.cost))
        parts.append(String(format: "%.1f s (%.0f steps/s)", m.seconds, Double(m.step) / max(m.seconds, 1e-9)))
        if let directory = trainer.runDirectory { parts.append("run: \(directory.path)") }
        return parts.joined(separator: ", ")
    }
}

/// A setup failure every rank of a data-parallel run has agreed on (each reports it and ends
/// MPI cleanly, instead of aborting the job).
struct AgreedFailure: Error, CustomStringConvertible {
    let description: String
    init(_ error: Error) { description = "\(error)" }
}
