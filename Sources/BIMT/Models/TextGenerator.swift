import BIMTCompute
import Foundation

/// Generates text from a character-level transformer checkpoint (`--preset charlm`): the
/// prompt's characters are encoded with the vocabulary stored in the checkpoint, and each
/// next character is drawn from softmax(logits / temperature) at the last position of the
/// latest `context` characters.
public final class TextGenerator {
    /// The character model.
    public let model: GPT
    /// The characters, in token order.
    public let vocabulary: [String]
    let index: [String: Int]

    /// Loads a character model's checkpoint (no text file needed: the vocabulary is in it).
    public init(checkpoint url: URL, device: Device) throws {
        let trained = try TrainedModel.load(checkpoint: url, device: device)
        let languageTask = switch trained.configuration.task {
        case .text, .tokenFiles: true
        default: false
        }
        guard languageTask, let gpt = trained.model as? GPT, gpt.architecture.vocabulary != nil, !gpt.architecture.lastPositionOnly else {
            throw BIMTError.invalidSetting("\(url.path) is not a language model (one trained on a text task, as the charlm preset is, or on token files)")
        }
        let vocabulary = trained.inputNames
        guard vocabulary.count == gpt.architecture.vocabulary, gpt.architecture.outputs == vocabulary.count else {
            throw BIMTError.invalidFile(path: url.path, reason: "its vocabulary of \(vocabulary.count) does not match the model's \(gpt.architecture.vocabulary ?? 0)")
        }
        model = gpt
        self.vocabulary = vocabulary
        index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
    }

    /// The prompt followed by `length` generated characters.
    public func generate(prompt: String, length: Int, temperature: Float = 1, seed: UInt64 = 1) throws -> String {
        guard length >= 0 else { throw BIMTError.invalidSetting("the length must be >= 0, got \(length)") }
        guard temperature > 0, temperature.isFinite else { throw BIMTError.invalidSetting("the temperature must be > 0, got \(temperature)") }
        guard !prompt.isEmpty else { throw BIMTError.invalidSetting("the prompt is empty; give at least one character the model knows") }
        let scalars = prompt.unicodeScalars.map { String($0) }
        let unknown = Set(scalars.filter { index[$0] == nil })
        guard unknown.isEmpty else {
            throw BIMTError.invalidSetting("the prompt holds characters the model never saw in training: "
                                           + unknown.sorted().map { "'\($0)'" }.joined(separator: ", "))
        }
        var tokens = scalars.map { index[$0]! }
        var generator = SeededGenerator(seed: seed)
        let device = model.device, context = model.architecture.context, classes = vocabulary.count
        var output = prompt
        let input = try device.makeBuffer(count: context)
        for _ in 0..<length {
            let window = Array(tokens.suffix(context))
            let slice = input.slice(offset: 0, count: window.count)
            try device.write(window.map(Float.init), to: slice)
            let logits = try device.read(try model.forward(input: slice, rows: 1))
            let last = logits[((window.count - 1) * classes)..<(window.count * classes)].map { Double($0 / temperature) }
            let largest = last.max()!
            let weights = last.map { exp($0 - largest) }
            var draw = Double.random(in: 0..<weights.reduce(0, +), using: &generator)
            var choice = classes - 1
            for (i, w) in weights.enumerated() {
                if draw < w { choice = i; break }
                draw -= w
            }
            tokens.append(choice)
            output += vocabulary[choice]
        }
        return output
    }
}
