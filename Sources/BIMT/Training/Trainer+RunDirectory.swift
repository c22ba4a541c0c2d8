import BIMTCompute
import Foundation

/// The run directory: `config.json` (the resolved configuration), `metrics.csv`, and
/// `checkpoint.safetensors` (replaced atomically, so a crash never loses the last good one).
extension Trainer {
    /// The checkpoint's file name in a run directory.
    public static let checkpointName = "checkpoint.safetensors"
    /// The checkpoint of the log step with the lowest test loss so far, beside the last one.
    public static let bestCheckpointName = "best.safetensors"
    static let checkpointFormat = "bimt-mlp-checkpoint/1"

    func prepare(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            if let configuration {
                try Self.encoder.encode(configuration).write(to: directory.appending(path: "config.json"), options: .atomic)
            }
            let metrics = directory.appending(path: "metrics.csv")
            try Data((TrainingMetrics.csvHeader + "\n").utf8).write(to: metrics, options: .atomic)
        } catch let error as BIMTError {
            throw error
        } catch {
            throw BIMTError.invalidFile(path: directory.path, reason: "cannot be written (\(error.localizedDescription))")
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

    /// The checkpoint's tensors: PyTorch `nn.Linear` names, `in_perm` / `out_perm`, and the
    /// AdamW moments over the flat parameter buffer.
    public func checkpointTensors() throws -> [SafeTensors.Tensor] {
        let values = try device.read(model.parameters.whole)
        var tensors = model.exportTensors(values)
        // Never replace a good checkpoint with a diverged one: name the first bad tensor.
        for tensor in tensors where tensor.dtype == .f32 {
            let bad = tensor.bytes.withUnsafeBytes { $0.bindMemory(to: Float.self).contains { !$0.isFinite } }
            if bad {
                throw BIMTError.invalidSetting(
                    "tensor '\(tensor.name)' holds NaN or Inf at step \(step); stopping without overwriting the last checkpoint")
            }
        }
        tensors.append(.int64("in_perm", shape: [model.network.inputPermutation.count], model.network.inputPermutation))
        tensors.append(.int64("out_perm", shape: [model.network.outputPermutation.count], model.network.outputPermutation))
        tensors.append(.float32("optimizer.exp_avg", shape: [values.count], try device.read(model.firstMoments.whole)))
        tensors.append(.float32("optimizer.exp_avg_sq", shape: [values.count], try device.read(model.secondMoments.whole)))
        return tensors
    }

    /// The checkpoint's metadata: format, step, configuration, arrangement, names, sampler state.
    public func checkpointMetadata() throws -> [String: String] {
        func json<T: Encodable>(_ value: T) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        var metadata = [
            "format": Self.checkpointFormat, "step": String(step), "elapsed_seconds": String(elapsed),
            "permutations": try json(model.network.permutations),
            "layouts": try json(model.network.layers.map { LayerLayoutRecord(name: $0.name, layout: $0.layout) }),
            // The task's names (logical order), so pictures and sampling need no data.
            "input_names": try json(task.inputNames), "output_names": try json(task.outputNames),
        ]
        if let configuration { metadata["config"] = try json(configuration) }
        metadata["data"] = try json(dataFingerprint)
        if let sampler { metadata["sampler"] = try json(sampler) }
        if let windowSampler { metadata["window_sampler"] = try json(windowSampler) }
        if bestTestLoss.isFinite { metadata["best_test_loss"] = String(bestTestLoss) }
        return metadata
    }

    /// Writes `checkpoint.safetensors` atomically (temporary file + rename), after checking on
    /// the device that parameters and AdamW moments are finite (a diverged run keeps its last
    /// good checkpoint).
    public func saveCheckpoint(to url: URL? = nil) throws {
        guard let target = url ?? runDirectory?.appending(path: Self.checkpointName) else { return }
        try requireFinite()
        try SafeTensors.write(try checkpointTensors(), metadata: try checkpointMetadata(), to: target)
    }

    /// Continues the run in `directory` from its checkpoint. On the CPU path the result is
    /// bit-identical to an uninterrupted run with the same configuration. `steps` sets a new
    /// total (at least the checkpoint's step; a finished run is extended): the lambda
    /// schedule and the bias-penalty start are fractions of the new total from then on, and
    /// config.json records it. With a `processGroup` (of any size: a checkpoint does not
    /// depend on the rank count) every rank reads the checkpoint and only rank 0 writes.
    public static func resume(directory: URL, device: Device, steps: Int? = nil,
                              processGroup: (any ProcessGroup)? = nil) throws -> Trainer {
        let configURL = directory.appending(path: "config.json")
        var configuration: TrainingConfiguration
        do {
            configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(contentsOf: configURL))
        } catch {
            throw BIMTError.invalidFile(path: configURL.path, reason: "is not a bimt training configuration (\(error))")
        }
        let checkpoint = try SafeTensors(contentsOf: directory.appending(path: checkpointName))
        guard checkpoint.metadata["format"] == checkpointFormat,
              let step = checkpoint.metadata["step"].flatMap(Int.init), step >= 0 else {
            throw BIMTError.invalidFile(path: checkpoint.path, reason: "is not a bimt checkpoint (no format/step metadata)")
        }
        if let steps {
            guard steps >= step else {
                throw BIMTError.invalidSetting("the run in \(directory.path) is at step \(step); a new total of \(steps) steps would end before it")
            }
            configuration.steps = steps
        }
        let trainer = try Trainer(configuration: configuration, device: device, runDirectory: nil, processGroup: processGroup)
        try trainer.load(checkpoint, includeOptimizer: true)
        guard step <= trainer.options.steps else {
            throw BIMTError.invalidFile(path: checkpoint.path, reason: "records step \(step), past the run's "
                                        + "\(trainer.options.steps) steps; give a larger total to extend the run")
        }
        trainer.step = step
        trainer.elapsed = checkpoint.metadata["elapsed_seconds"].flatMap(Double.init) ?? 0
        try trainer.restoreSamplers(from: checkpoint)
        trainer.bestTestLoss = checkpoint.metadata["best_test_loss"].flatMap(Double.init) ?? .infinity
        guard (processGroup?.rank ?? 0) == 0 else { return trainer }
        try trainer.adopt(directory: directory, keepingMetricsThrough: step)
        if steps != nil {
            do { try encoder.encode(trainer.configuration ?? configuration).write(to: configURL, options: .atomic) } catch {
                throw BIMTError.invalidFile(path: configURL.path, reason: "cannot be written (\(error.localizedDescription))")
            }
        }
        return trainer
    }

    /// Takes the checkpoint's batch positions, after checking that it was trained on the data
    /// the trainer holds now (counts and hash; a checkpoint without them: the samplers' counts)
    /// and that each sampler's state fits them.
    func restoreSamplers(from checkpoint: SafeTensors) throws {
        func decode<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
            guard let text = checkpoint.metadata[key] else { return nil }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw BIMTError.invalidFile(path: checkpoint.path,
                                            reason: "holds unreadable '\(key)' metadata (\(error))")
            }
        }
        let stored = try decode("data", as: DataFingerprint.self)
        let batchSampler = try decode("sampler", as: BatchSampler.self)
        let windows = try decode("window_sampler", as: WindowSampler.self)
        let current = dataFingerprint
        if let stored, stored != current {
            throw BIMTError.invalidFile(
                path: checkpoint.path, reason: "was trained on other data (\(stored)); the data now hold "
                    + "\(current.train) training and \(current.test) test examples, data hash \(current.hash). "
                    + "Resume with the data the run started with, or start a new run")
        }
        // What the sampler state must agree with: this run's data and batch.
        let expected = (count: task.train.count, batch: options.batchSize ?? 0)
        if let batchSampler {
            guard sampler != nil, batchSampler.count == expected.count, batchSampler.batchSize == expected.batch,
                  batchSampler.seed == sampler?.seed, SizeLimits.samplerCounters.contains(batchSampler.epoch),
                  (0...batchSampler.count).contains(batchSampler.position) else {
                throw BIMTError.invalidFile(
                    path: checkpoint.path, reason: "records batches of \(batchSampler.batchSize) over "
                        + "\(batchSampler.count) training examples (epoch \(batchSampler.epoch), position "
                        + "\(batchSampler.position)); this run draws batches of \(expected.batch) over "
                        + "\(expected.count): the data or the batch size changed since the checkpoint")
            }
            sampler = batchSampler
        }
        if let windows {
            guard windowSampler != nil, windows.count == expected.count, windows.seed == windowSampler?.seed,
                  SizeLimits.samplerCounters.contains(windows.draws) else {
                throw BIMTError.invalidFile(
                    path: checkpoint.path, reason: "records batches drawn with replacement from \(windows.count) "
                        + "training examples or windows; this run draws from \(expected.count): the data or the "
                        + "batch sampling changed since the checkpoint")
            }
            windowSampler = windows
        }
    }

    /// Starts from the weights in a safetensors file (`--init`): `layers.{i}.weight`,
    /// `layers.{i}.bias`, `embedding` when the model has one, and `in_perm` / `out_perm` if present.
    public func initialize(from url: URL) throws {
        try load(try SafeTensors(contentsOf: url), includeOptimizer: false)
    }

    func load(_ file: SafeTensors, includeOptimizer: Bool) throws {
        var values = try device.read(model.parameters.whole)
        try model.importTensors(from: file, into: &values)
        try device.write(values, to: model.parameters.whole)
        if includeOptimizer {
            for (name, buffer) in [("optimizer.exp_avg", model.firstMoments), ("optimizer.exp_avg_sq", model.secondMoments)] {
                let (shape, data) = try file.floats(name)
                guard shape == [buffer.count] else {
                    throw BIMTError.shapeMismatch("\(file.path): '\(name)' has shape \(shape), the model needs [\(buffer.count)]")
                }
                try device.write(data, to: buffer.whole)
            }
        }
        let identity = model.network.permutations
        let permutations = try Self.permutations(in: file, for: model)
        model.geometry.network.permutations = permutations
        try moveData(inputDelta: Self.delta(from: identity.first!, to: permutations.first!),
                     outputDelta: Self.delta(from: identity.last!, to: permutations.last!))
    }

    /// The arrangement a checkpoint records for `model`'s layers: its `permutations`
    /// metadata, with `in_perm` / `out_perm` tensors (checked) over the first and last.
    static func permutations(in file: SafeTensors, for model: any TrainableModel) throws -> [[Int]] {
        var permutations = model.network.permutations
        if let text = file.metadata["permutations"] {
            let sizes = permutations.map(\.count)
            guard let stored = try? JSONDecoder().decode([[Int]].self, from: Data(text.utf8)),
                  stored.map(\.count) == sizes else {
                throw BIMTError.invalidFile(path: file.path, reason: "its 'permutations' metadata is not one list per "
                                            + "layer of the model's sizes \(sizes)")
            }
            for (layer, perm) in stored.enumerated() where !isPermutation(perm) {
                throw BIMTError.invalidFile(path: file.path, reason: "its 'permutations' metadata for layer \(layer) "
                                            + "is not a permutation of 0..<\(perm.count)")
            }
            permutations = stored
        }
        for (name, layer) in [("in_perm", 0), ("out_perm", permutations.count - 1)] where file.tensors[name] != nil {
            let (_, perm) = try file.integers(name)
            guard perm.count == permutations[layer].count, isPermutation(perm) else {
                throw BIMTError.invalidFile(path: file.path, reason: "'\(name)' is not a permutation of 0..<\(permutations[layer].count)")
            }
            permutations[layer] = perm
        }
        return permutations
    }

    /// Takes over `directory` as the run directory, keeping metrics rows up to `step`.
    func adopt(directory: URL, keepingMetricsThrough step: Int) throws {
        let metrics = directory.appending(path: "metrics.csv")
        let text = (try? String(contentsOf: metrics, encoding: .utf8)) ?? TrainingMetrics.csvHeader + "\n"
        let columns = TrainingMetrics.csvHeader.split(separator: ",").count
        // Rows up to `step`, under today's header (an earlier version's rows gain empty cells).
        let kept = [TrainingMetrics.csvHeader] + text.split(separator: "\n").compactMap { line -> String? in
            guard let first = line.split(separator: ",").first, let row = Int(first), row <= step else { return nil }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).count
            return String(line) + String(repeating: ",", count: max(0, columns - cells))
        }
        try Data((kept.joined(separator: "\n") + "\n").utf8).write(to: metrics, options: .atomic)
        resumedDirectory = directory
    }
}

/// How a checkpoint's metadata records each layer's layout (`layouts`): name, kind, slots,
/// folds, grid width and every slot's (x, y).
struct LayerLayoutRecord: Encodable {
    let name: String
    let layout: NeuronLayout
}
