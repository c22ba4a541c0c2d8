import BIMTCompute
import Foundation

/// A bimt checkpoint on the host: everything `checkpoint.safetensors` (or `best.safetensors`)
/// holds, typed. The file is safetensors: the model's parameters as PyTorch-named float32
/// tensors, `in_perm` / `out_perm` (int64), the AdamW moments over the flat parameter buffer
/// (`optimizer.exp_avg`, `optimizer.exp_avg_sq`), and string metadata: `format`, `step`,
/// `elapsed_seconds`, `config`, `permutations`, `layouts`, `input_names`, `output_names`
/// (earlier versions: `vocabulary`), `data`, `sampler`, `window_sampler`, `best_test_loss`.
/// A safetensors file of weights alone (`--init`) reads too, its other fields nil.
public struct Checkpoint: Sendable, Equatable {
    /// The `format` metadata a bimt checkpoint carries.
    public static let format = "bimt-mlp-checkpoint/1"
    /// The checkpoint's file name in a run directory.
    public static let fileName = "checkpoint.safetensors"
    /// The checkpoint of the log step with the lowest test loss so far, beside the last one.
    public static let bestFileName = "best.safetensors"

    /// The file (or "<memory>") it was read from, for messages.
    public var path = "<memory>"
    /// The model's parameters as PyTorch-named tensors, in the file's order.
    public var tensors: [NamedTensor] = []
    /// Tensors of other element types (name to dtype, e.g. `I64`), which no model reads: kept
    /// to say why a model asking for one of them cannot have it.
    public var otherTensors: [String: String] = [:]
    /// AdamW's first and second moments over the flat parameter buffer (nil: not stored).
    public var firstMoments: NamedTensor?, secondMoments: NamedTensor?
    /// `in_perm` and `out_perm`: the input and output layers' arrangement.
    public var inputPermutation: [Int]?, outputPermutation: [Int]?
    /// Every layer's arrangement (`permutations`), unchecked: see `arrangement(from:)`.
    public var permutations: [[Int]]?
    /// Each layer's name and layout (`layouts`), for readers outside bimt.
    public var layouts: [LayerLayoutRecord]?
    /// The `format` metadata (`Checkpoint.format` for a bimt checkpoint).
    public var formatName: String?
    /// The step it was written at (nil: absent or not an integer).
    public var step: Int?
    /// Seconds of training up to `step`.
    public var elapsedSeconds: Double?
    /// The configuration the run was trained with.
    public var configuration: TrainingConfiguration?
    /// The task's input and output names in logical order.
    public var inputNames: [String]?, outputNames: [String]?
    /// A character model's vocabulary, as earlier versions stored its names.
    public var vocabulary: [String]?
    /// The counts and hash of the data trained on.
    public var dataFingerprint: DataFingerprint?
    /// The batch sampler's state (mini-batches drawn in epochs).
    public var sampler: BatchSampler?
    /// The window sampler's state (batches drawn with replacement, or token windows).
    public var windowSampler: WindowSampler?
    /// The lowest test loss of a log step so far.
    public var bestTestLoss: Double?
    /// Metadata under keys this version does not know, kept as they are.
    public var otherMetadata: [String: String] = [:]

    /// An empty checkpoint: fill in what the file should hold.
    public init() {}

    /// Reads a checkpoint (or a safetensors file of weights) from `url`.
    public static func read(from url: URL) throws -> Checkpoint {
        try Checkpoint(SafeTensors(contentsOf: url))
    }

    /// Parses checkpoint bytes already in memory; `path` names them in errors.
    public init(bytes: Data, path: String = "<memory>") throws {
        try self.init(SafeTensors(bytes: bytes, path: path))
    }

    init(_ file: SafeTensors) throws {
        path = file.path
        func fail(_ reason: String) -> BIMTError { .invalidFile(path: file.path, reason: reason) }
        for name in file.tensors.keys.sorted(by: { file.tensors[$0]!.begin < file.tensors[$1]!.begin }) {
            switch name {
            case "in_perm": inputPermutation = try file.integers(name).values
            case "out_perm": outputPermutation = try file.integers(name).values
            case "optimizer.exp_avg", "optimizer.exp_avg_sq":
                let (shape, values) = try file.floats(name)
                let moments = NamedTensor(name, shape: shape, values)
                if name == "optimizer.exp_avg" { firstMoments = moments } else { secondMoments = moments }
            default:
                // Only float tensors are parameters; a model asking for another one finds it missing.
                let dtype = file.tensors[name]!.dtype
                guard [.f32, .f64].contains(dtype) else {
                    otherTensors[name] = dtype.rawValue
                    continue
                }
                let (shape, values) = try file.floats(name)
                tensors.append(NamedTensor(name, shape: shape, values))
            }
        }
        var metadata = file.metadata
        func take(_ key: String) -> String? { metadata.removeValue(forKey: key) }
        func decode<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
            guard let text = take(key) else { return nil }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw fail("holds unreadable '\(key)' metadata (\(error))")
            }
        }
        func names(_ key: String) -> [String]? {
            take(key).flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        }
        formatName = take("format")
        step = take("step").flatMap(Int.init)
        elapsedSeconds = take("elapsed_seconds").flatMap(Double.init)
        bestTestLoss = take("best_test_loss").flatMap(Double.init)
        if let text = take("config") {
            do { configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8)) } catch {
                throw fail("holds an unreadable configuration (\(error))")
            }
        }
        if let text = take("permutations") {
            // Checked against the model's sizes where it is used (`arrangement(from:)`): unreadable
            // lists read as none, which no model's sizes match.
            permutations = (try? JSONDecoder().decode([[Int]].self, from: Data(text.utf8))) ?? []
        }
        layouts = take("layouts").flatMap { try? JSONDecoder().decode([LayerLayoutRecord].self, from: Data($0.utf8)) }
        (inputNames, outputNames, vocabulary) = (names("input_names"), names("output_names"), names("vocabulary"))
        dataFingerprint = try decode("data", as: DataFingerprint.self)
        sampler = try decode("sampler", as: BatchSampler.self)
        windowSampler = try decode("window_sampler", as: WindowSampler.self)
        otherMetadata = metadata
    }

    /// The file's tensors in the order they are written: parameters, `in_perm`, `out_perm`,
    /// then the AdamW moments.
    public var safeTensors: [SafeTensors.Tensor] {
        var stored = tensors.map { SafeTensors.Tensor.float32($0.name, shape: $0.shape, $0.values) }
        for (name, permutation) in [("in_perm", inputPermutation), ("out_perm", outputPermutation)] {
            if let permutation { stored.append(.int64(name, shape: [permutation.count], permutation)) }
        }
        for moments in [firstMoments, secondMoments].compactMap({ $0 }) {
            stored.append(.float32(moments.name, shape: moments.shape, moments.values))
        }
        return stored
    }

    /// The file's metadata strings (JSON values with sorted keys).
    public func metadata() throws -> [String: String] {
        func json<T: Encodable>(_ value: T) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        var metadata = otherMetadata
        metadata["format"] = formatName
        metadata["step"] = step.map { String($0) }
        metadata["elapsed_seconds"] = elapsedSeconds.map { String($0) }
        if let permutations { metadata["permutations"] = try json(permutations) }
        if let layouts { metadata["layouts"] = try json(layouts) }
        if let inputNames { metadata["input_names"] = try json(inputNames) }
        if let outputNames { metadata["output_names"] = try json(outputNames) }
        if let vocabulary { metadata["vocabulary"] = try json(vocabulary) }
        if let configuration { metadata["config"] = try json(configuration) }
        if let dataFingerprint { metadata["data"] = try json(dataFingerprint) }
        if let sampler { metadata["sampler"] = try json(sampler) }
        if let windowSampler { metadata["window_sampler"] = try json(windowSampler) }
        metadata["best_test_loss"] = bestTestLoss.map { String($0) }
        return metadata
    }

    /// The file's bytes.
    public func encoded() throws -> Data { try SafeTensors.encode(safeTensors, metadata: try metadata()) }

    /// Writes atomically: a temporary file in the same folder, renamed over `url`, so a crash
    /// leaves either the old file or the new one, never half of one.
    public func write(to url: URL) throws {
        try SafeTensors.write(safeTensors, metadata: try metadata(), to: url)
    }

    /// The model's parameter tensors, looked up by name.
    public var parameters: NamedTensors { NamedTensors(tensors, path: path, otherTypes: otherTensors) }

    /// The configuration of a bimt checkpoint; throws for any other file.
    public func requireConfiguration() throws -> TrainingConfiguration {
        guard formatName == Self.format, let configuration else {
            throw BIMTError.invalidFile(path: path, reason: "is not a bimt checkpoint (no format/config metadata)")
        }
        return configuration
    }

    /// The arrangement recorded for a model whose layers have `sizes` neurons, starting from
    /// `identity` (each layer's arrangement before): the `permutations` metadata, with the
    /// `in_perm` / `out_perm` tensors over the first and last layers, each checked to be a
    /// permutation of its layer's neurons.
    public func arrangement(from identity: [[Int]]) throws -> [[Int]] {
        var arrangement = identity
        if let permutations {
            let sizes = identity.map(\.count)
            guard permutations.map(\.count) == sizes else {
                throw BIMTError.invalidFile(
                    path: path,
                    reason: "its 'permutations' metadata is not one list per "
                        + "layer of the model's sizes \(sizes)")
            }
            for (layer, perm) in permutations.enumerated() where !isPermutation(perm) {
                throw BIMTError.invalidFile(
                    path: path,
                    reason: "its 'permutations' metadata for layer \(layer) "
                        + "is not a permutation of 0..<\(perm.count)")
            }
            arrangement = permutations
        }
        let ends = [("in_perm", 0, inputPermutation), ("out_perm", arrangement.count - 1, outputPermutation)]
        for (name, layer, stored) in ends {
            guard let perm = stored else { continue }
            guard perm.count == arrangement[layer].count, isPermutation(perm) else {
                throw BIMTError.invalidFile(
                    path: path,
                    reason: "'\(name)' is not a permutation of 0..<\(arrangement[layer].count)")
            }
            arrangement[layer] = perm
        }
        return arrangement
    }

    /// The task's input and output names in logical order (a character model's from its
    /// vocabulary), nil when the checkpoint does not record them.
    public var taskNames: (inputs: [String], outputs: [String])? {
        guard let inputs = inputNames ?? vocabulary, let outputs = outputNames ?? vocabulary else { return nil }
        return (inputs, outputs)
    }
}

/// How a checkpoint's metadata records each layer's layout (`layouts`): name, kind, slots,
/// folds, grid width and every slot's (x, y).
public struct LayerLayoutRecord: Codable, Sendable, Equatable {
    /// The layer's name.
    public let name: String
    /// Its layout.
    public let layout: NeuronLayout

    /// The record of layer `name` laid out as `layout`.
    public init(name: String, layout: NeuronLayout) {
        self.name = name
        self.layout = layout
    }
}
