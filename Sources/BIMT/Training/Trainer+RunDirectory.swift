import BIMTCompute
import Foundation

/// The run directory: `config.json` (the resolved configuration), `metrics.csv`, and
/// `checkpoint.safetensors` (replaced atomically, so a crash never loses the last good one).
extension Trainer {
    /// The checkpoint's file name in a run directory.
    public static let checkpointName = Checkpoint.fileName
    /// The checkpoint of the log step with the lowest test loss so far, beside the last one.
    public static let bestCheckpointName = Checkpoint.bestFileName

    func prepare(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if let configuration {
                try Self.encoder.encode(configuration).write(
                    to: directory.appending(path: "config.json"), options: .atomic)
            }
            let metrics = directory.appending(path: "metrics.csv")
            try Data((TrainingMetrics.csvHeader + "\n").utf8).write(to: metrics, options: .atomic)
        } catch let error as BIMTError {
            throw error
        } catch {
            throw BIMTError.invalidFile(
                path: directory.path, reason: "cannot be written (\(error.localizedDescription))")
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    func record(_ metrics: TrainingMetrics) throws {
        guard let runDirectory else { return }
        if metricsFile == nil {
            metricsFile = try FileHandle(forWritingTo: runDirectory.appending(path: "metrics.csv"))
            try metricsFile?.seekToEnd()
        }
        try metricsFile?.write(contentsOf: Data((metrics.csvRow + "\n").utf8))
    }

    /// The run as a checkpoint on the host: the model's PyTorch-named tensors and arrangement,
    /// the AdamW moments, and the step, configuration, names, data fingerprint and sampler
    /// state. Throws, naming the first bad tensor, when a parameter is NaN or infinite (a
    /// good checkpoint is never replaced with a diverged one).
    public func checkpoint() throws -> Checkpoint {
        let values = try device.read(model.parameters.whole)
        var checkpoint = Checkpoint()
        checkpoint.tensors = model.exportTensors(values)
        for tensor in checkpoint.tensors where !tensor.values.allSatisfy(\.isFinite) {
            throw BIMTError.invalidSetting(
                "tensor '\(tensor.name)' holds NaN or Inf at step \(step); "
                    + "stopping without overwriting the last checkpoint")
        }
        checkpoint.inputPermutation = model.network.inputPermutation
        checkpoint.outputPermutation = model.network.outputPermutation
        checkpoint.firstMoments = NamedTensor(
            "optimizer.exp_avg", shape: [values.count],
            try device.read(model.firstMoments.whole))
        checkpoint.secondMoments = NamedTensor(
            "optimizer.exp_avg_sq", shape: [values.count],
            try device.read(model.secondMoments.whole))
        checkpoint.formatName = Checkpoint.format
        checkpoint.step = step
        checkpoint.elapsedSeconds = elapsed
        checkpoint.permutations = model.network.permutations
        checkpoint.layouts = model.network.layers.map { LayerLayoutRecord(name: $0.name, layout: $0.layout) }
        // The task's names (logical order), so pictures and sampling need no data.
        checkpoint.inputNames = task.inputNames
        checkpoint.outputNames = task.outputNames
        checkpoint.configuration = configuration
        checkpoint.dataFingerprint = dataFingerprint
        checkpoint.sampler = sampler
        checkpoint.windowSampler = windowSampler
        checkpoint.bestTestLoss = bestTestLoss.isFinite ? bestTestLoss : nil
        return checkpoint
    }

    /// Writes `checkpoint.safetensors` atomically (temporary file + rename), after checking on
    /// the device that parameters and AdamW moments are finite (a diverged run keeps its last
    /// good checkpoint).
    public func saveCheckpoint(to url: URL? = nil) throws {
        guard let target = url ?? runDirectory?.appending(path: Self.checkpointName) else { return }
        try requireFinite()
        try checkpoint().write(to: target)
    }

    /// Continues the run in `directory` from its checkpoint. On the CPU path the result is
    /// bit-identical to an uninterrupted run with the same configuration. `steps` sets a new
    /// total (at least the checkpoint's step; a finished run is extended): the lambda
    /// schedule and the bias-penalty start are fractions of the new total from then on, and
    /// config.json records it. `precision` replaces the run's, and config.json records it too
    /// (checkpoints hold fp32, so a run resumes at any precision). With a `processGroup` (of
    /// any size: a checkpoint does not depend on the rank count) every rank reads the
    /// checkpoint and only rank 0 writes.
    public static func resume(
        directory: URL, device: Device, steps: Int? = nil, precision: PrecisionSetting? = nil,
        processGroup: (any ProcessGroup)? = nil
    ) throws -> Trainer {
        let configURL = directory.appending(path: "config.json")
        var configuration: TrainingConfiguration
        do {
            configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(contentsOf: configURL))
        } catch {
            throw BIMTError.invalidFile(path: configURL.path, reason: "is not a bimt training configuration (\(error))")
        }
        let checkpoint = try Checkpoint.read(from: directory.appending(path: checkpointName))
        guard checkpoint.formatName == Checkpoint.format, let step = checkpoint.step, step >= 0 else {
            throw BIMTError.invalidFile(
                path: checkpoint.path, reason: "is not a bimt checkpoint (no format/step metadata)")
        }
        if let steps {
            guard steps >= step else {
                throw BIMTError.invalidSetting(
                    "the run in \(directory.path) is at step \(step); a new total of \(steps) steps would end before it"
                )
            }
            configuration.steps = steps
        }
        // Checkpoints hold fp32 weights and moments: a run resumes at any precision.
        if let precision { configuration.precision = precision }
        let trainer = try Trainer(
            configuration: configuration, device: device, runDirectory: nil, processGroup: processGroup)
        try trainer.load(checkpoint, includeOptimizer: true)
        guard step <= trainer.options.steps else {
            throw BIMTError.invalidFile(
                path: checkpoint.path,
                reason: "records step \(step), past the run's "
                    + "\(trainer.options.steps) steps; give a larger total to extend the run")
        }
        trainer.step = step
        trainer.elapsed = checkpoint.elapsedSeconds ?? 0
        try trainer.restoreSamplers(from: checkpoint)
        trainer.bestTestLoss = checkpoint.bestTestLoss ?? .infinity
        guard (processGroup?.rank ?? 0) == 0 else { return trainer }
        try trainer.adopt(directory: directory, keepingMetricsThrough: step)
        if steps != nil || precision != nil {
            do {
                try encoder.encode(trainer.configuration ?? configuration).write(to: configURL, options: .atomic)
            } catch {
                throw BIMTError.invalidFile(
                    path: configURL.path, reason: "cannot be written (\(error.localizedDescription))")
            }
        }
        return trainer
    }

    /// Takes the checkpoint's batch positions, after checking that it was trained on the data
    /// the trainer holds now (counts and hash; a checkpoint without them: the samplers' counts)
    /// and that each sampler's state fits them.
    func restoreSamplers(from checkpoint: Checkpoint) throws {
        let stored = checkpoint.dataFingerprint, batchSampler = checkpoint.sampler, windows = checkpoint.windowSampler
        let current = dataFingerprint
        if let stored, stored != current {
            throw BIMTError.invalidFile(
                path: checkpoint.path,
                reason: "was trained on other data (\(stored)); the data now hold "
                    + "\(current.train) training and \(current.test) test examples, data hash \(current.hash). "
                    + "Resume with the data the run started with, or start a new run")
        }
        // What the sampler state must agree with: this run's data and batch.
        let expected = (count: task.train.count, batch: options.batchSize ?? 0)
        if let batchSampler {
            guard sampler != nil, batchSampler.count == expected.count, batchSampler.batchSize == expected.batch,
                batchSampler.seed == sampler?.seed, SizeLimits.samplerCounters.contains(batchSampler.epoch),
                (0...batchSampler.count).contains(batchSampler.position)
            else {
                throw BIMTError.invalidFile(
                    path: checkpoint.path,
                    reason: "records batches of \(batchSampler.batchSize) over "
                        + "\(batchSampler.count) training examples (epoch \(batchSampler.epoch), position "
                        + "\(batchSampler.position)); this run draws batches of \(expected.batch) over "
                        + "\(expected.count): the data or the batch size changed since the checkpoint")
            }
            sampler = batchSampler
        }
        if let windows {
            guard windowSampler != nil, windows.count == expected.count, windows.seed == windowSampler?.seed,
                SizeLimits.samplerCounters.contains(windows.draws)
            else {
                throw BIMTError.invalidFile(
                    path: checkpoint.path,
                    reason: "records batches drawn with replacement from \(windows.count) "
                        + "training examples or windows; this run draws from \(expected.count): the data or the "
                        + "batch sampling changed since the checkpoint")
            }
            windowSampler = windows
        }
    }

    /// Starts from the weights in a safetensors file (`--init`): `layers.{i}.weight`,
    /// `layers.{i}.bias`, `embedding` when the model has one, and `in_perm` / `out_perm` if present.
    public func initialize(from url: URL) throws {
        try load(try Checkpoint.read(from: url), includeOptimizer: false)
    }

    func load(_ checkpoint: Checkpoint, includeOptimizer: Bool) throws {
        var values = try device.read(model.parameters.whole)
        try model.importTensors(from: checkpoint.parameters, into: &values)
        try device.write(values, to: model.parameters.whole)
        if includeOptimizer {
            for (name, stored, buffer) in [
                ("optimizer.exp_avg", checkpoint.firstMoments, model.firstMoments),
                ("optimizer.exp_avg_sq", checkpoint.secondMoments, model.secondMoments),
            ] {
                let moments = try stored ?? checkpoint.parameters.tensor(name)
                guard moments.shape == [buffer.count] else {
                    throw BIMTError.shapeMismatch(
                        "\(checkpoint.path): '\(name)' has shape \(moments.shape), "
                            + "the model needs [\(buffer.count)]")
                }
                try device.write(moments.values, to: buffer.whole)
            }
        }
        let identity = model.network.permutations
        let permutations = try checkpoint.arrangement(from: identity)
        model.geometry.network.permutations = permutations
        try deviceData.move(from: identity, to: permutations)
    }

    /// Takes over `directory` as the run directory, keeping metrics rows up to `step`.
    func adopt(directory: URL, keepingMetricsThrough step: Int) throws {
        let metrics = directory.appending(path: "metrics.csv")
        let text = (try? String(contentsOf: metrics, encoding: .utf8)) ?? TrainingMetrics.csvHeader + "\n"
        let columns = TrainingMetrics.csvHeader.split(separator: ",").count
        // Rows up to `step`, under today's header (an earlier version's rows gain empty cells).
        let kept =
            [TrainingMetrics.csvHeader]
            + text.split(separator: "\n").compactMap { line -> String? in
                guard let first = line.split(separator: ",").first, let row = Int(first), row <= step else {
                    return nil
                }
                let cells = line.split(separator: ",", omittingEmptySubsequences: false).count
                return String(line) + String(repeating: ",", count: max(0, columns - cells))
            }
        try Data((kept.joined(separator: "\n") + "\n").utf8).write(to: metrics, options: .atomic)
        resumedDirectory = directory
    }
}
