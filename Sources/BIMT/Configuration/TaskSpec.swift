import Foundation

/// Which data a run trains on: each built-in task with its parameters, or the user's own
/// data. In `config.json` it is `{"kind": ..., "modulus": ..., "groupSize": ..., "path": ...}`
/// (only the fields the kind uses).
public enum TaskSpec: Sendable, Equatable {
    /// One of the paper's symbolic formulas (x ~ U[-1, 1]).
    case symbolic(Tasks.Formula)
    /// scikit-learn's two moons, two classes.
    case twoMoons
    /// (a, b) -> (a + b) mod p as two tokens for an MLP with an embedding.
    case modularAddition(modulus: Int)
    /// Composition in the symmetric group S_n as two tokens.
    case permutationComposition(groupSize: Int)
    /// A folder of MNIST-format IDX files (nil: Debian's Fashion-MNIST).
    case images(folder: String?)
    /// A safetensors file holding train.inputs, train.labels, test.inputs, test.labels.
    case userData(path: String)
    /// "a b =" -> (a + b) mod p for a transformer.
    case modularAdditionSequence(modulus: Int)
    /// The paper's in-context linear regression (its sizes come from the transformer: d + 1
    /// input features and a context of 2T - 1).
    case inContextRegression
    /// Characters of a UTF-8 file for a character-level transformer (nil: not given yet; a
    /// configuration with no file does not validate).
    case text(path: String?)
    /// Uniform random tokens of the transformer's vocabulary and context (for timing).
    case randomTokens
    /// nanoGPT token files: a folder with train.bin and val.bin (uint16 ids) and optionally
    /// meta.json; `vocabulary` nil: meta.json's `vocab_size`.
    case tokenFiles(folder: String, vocabulary: Int?)

    /// The task's name in `config.json` and on the command line.
    public var kind: String {
        switch self {
        case let .symbolic(formula): formula.rawValue
        case .twoMoons: "two-moons"
        case .modularAddition: "modadd"
        case .permutationComposition: "permutations"
        case .images: "images"
        case .userData: "safetensors"
        case .modularAdditionSequence: "modadd-seq"
        case .inContextRegression: "incontext"
        case .text: "text"
        case .randomTokens: "random-tokens"
        case .tokenFiles: "tokens"
        }
    }

    /// Every kind, as `kind` spells it.
    public static let kinds =
        Tasks.Formula.allCases.map(\.rawValue)
        + [
            "two-moons", "modadd", "permutations", "images", "safetensors", "modadd-seq", "incontext", "text",
            "random-tokens", "tokens",
        ]

    /// Sequences for a transformer (the others are tables for an MLP or images for a conv net).
    public var isSequenceTask: Bool {
        switch self {
        case .modularAdditionSequence, .inContextRegression, .text, .randomTokens, .tokenFiles: true
        default: false
        }
    }

    /// Whether its data are read from files (the others are generated from the seed).
    public var readsFiles: Bool {
        switch self {
        case .images, .userData, .text, .tokenFiles: true
        default: false
        }
    }

    /// Whether a conv net can train on it: images, or the user's own table (checked against
    /// the image size when the data are read).
    public var suitsConvNet: Bool {
        switch self {
        case .images, .userData: true
        default: false
        }
    }

    /// Builds the task's data for a model of `model`'s shape (sequence tasks take their sizes from it).
    public func makeData(for model: ModelSpec, seed: UInt64) throws -> TaskData {
        switch self {
        case let .symbolic(formula): return try Tasks.symbolic(formula, seed: seed)
        case .twoMoons: return try Tasks.twoMoons(seed: seed)
        case let .modularAddition(modulus): return try Tasks.modularAddition(modulus: modulus, seed: seed)
        case let .permutationComposition(n): return try Tasks.permutationComposition(n: n, seed: seed)
        case let .images(folder): return try ImageData.load(directory: folder)
        case let .userData(path): return try UserData.load(path: path)
        case .modularAdditionSequence, .inContextRegression, .text, .randomTokens, .tokenFiles:
            guard case let .transformer(t) = model else {
                throw BIMTError.invalidField(
                    field: "task", reason: "'\(kind)' is a sequence task; it needs a transformer")
            }
            switch self {
            case let .modularAdditionSequence(modulus):
                return try Tasks.modularAdditionSequence(modulus: modulus, seed: seed)
            case .inContextRegression:
                guard let features = t.inputFeatures, features >= 2, t.context % 2 == 1 else {
                    throw BIMTError.invalidField(
                        field: "transformer",
                        reason:
                            "in-context regression needs real inputs of d + 1 >= 2 features and an odd context (2T - 1)"
                    )
                }
                return try Tasks.inContextRegression(dimension: features - 1, pairs: (t.context + 1) / 2, seed: seed)
            case .randomTokens:
                return try Tasks.randomTokens(vocabulary: t.vocabulary ?? 65, length: t.context, seed: seed)
            case let .tokenFiles(folder, vocabulary):
                return try TokenFiles.task(folder: folder, vocabulary: vocabulary, context: t.context)
            default:
                guard case let .text(path?) = self else { throw Self.missingText }
                return try CharacterText.task(path: path, context: t.context)
            }
        }
    }

    static let missingText = BIMTError.invalidField(
        field: "task.path", reason: "a text task needs a UTF-8 file to train on")
}

extension TaskSpec: Codable {
    enum CodingKeys: String, CodingKey { case kind, modulus, groupSize, path, vocabulary }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .kind)
        let path = try c.decodeIfPresent(String.self, forKey: .path)
        func required(_ path: String?) throws -> String {
            guard let path else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.path],
                        debugDescription: "task '\(kind)' needs a path"))
            }
            return path
        }
        switch kind {
        case "two-moons": self = .twoMoons
        case "modadd": self = .modularAddition(modulus: try c.decodeIfPresent(Int.self, forKey: .modulus) ?? 59)
        case "permutations":
            self = .permutationComposition(groupSize: try c.decodeIfPresent(Int.self, forKey: .groupSize) ?? 4)
        case "images": self = .images(folder: path)
        case "safetensors": self = .userData(path: try required(path))
        case "modadd-seq":
            self = .modularAdditionSequence(modulus: try c.decodeIfPresent(Int.self, forKey: .modulus) ?? 113)
        case "incontext": self = .inContextRegression
        case "text": self = .text(path: path)
        case "random-tokens": self = .randomTokens
        case "tokens":
            self = .tokenFiles(
                folder: try required(path), vocabulary: try c.decodeIfPresent(Int.self, forKey: .vocabulary))
        default:
            guard let formula = Tasks.Formula(rawValue: kind) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [CodingKeys.kind],
                        debugDescription: "unknown task '\(kind)'; tasks: \(Self.kinds.joined(separator: ", "))"))
            }
            self = .symbolic(formula)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case let .modularAddition(modulus), let .modularAdditionSequence(modulus):
            try c.encode(modulus, forKey: .modulus)
        case let .permutationComposition(n): try c.encode(n, forKey: .groupSize)
        case let .images(folder): try c.encodeIfPresent(folder, forKey: .path)
        case let .userData(path): try c.encode(path, forKey: .path)
        case let .text(path): try c.encodeIfPresent(path, forKey: .path)
        case let .tokenFiles(folder, vocabulary):
            try c.encode(folder, forKey: .path)
            try c.encodeIfPresent(vocabulary, forKey: .vocabulary)
        default: break
        }
    }
}
