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

    /// Generates with `model` over `vocabulary` (its tokens' characters, in token order; the
    /// caller has checked that they match the model and are distinct).
    init(model: GPT, vocabulary: [String]) {
        self.model = model
        self.vocabulary = vocabulary
        index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
    }

    /// The prompt followed by `length` generated characters, each drawn from
    /// softmax(logits / temperature), among the `topK` most likely only when given. Within the
    /// model's context the prompt and each new character go through a key/value cache
    /// (`GPT.Decoder`: O(context) per character); beyond it, as in nanoGPT, the window is the
    /// last `context` characters, recomputed by a forward pass per character.
    public func generate(prompt: String, length: Int, temperature: Float = 1, topK: Int? = nil, seed: UInt64 = 1) throws
        -> String
    {
        guard length >= 0 else { throw BIMTError.invalidSetting("the length must be >= 0, got \(length)") }
        guard temperature > 0, temperature.isFinite else {
            throw BIMTError.invalidSetting("the temperature must be > 0, got \(temperature)")
        }
        guard topK.map({ $0 >= 1 }) ?? true else {
            throw BIMTError.invalidSetting("top-k must be >= 1, got \(topK ?? 0)")
        }
        guard !prompt.isEmpty else {
            throw BIMTError.invalidSetting("the prompt is empty; give at least one character the model knows")
        }
        let scalars = prompt.unicodeScalars.map { String($0) }
        let unknown = Set(scalars.filter { index[$0] == nil })
        guard unknown.isEmpty else {
            throw BIMTError.invalidSetting(
                "the prompt holds characters the model never saw in training: "
                    + unknown.sorted().map { "'\($0)'" }.joined(separator: ", "))
        }
        var tokens = scalars.map { index[$0]! }
        var generator = SeededGenerator(seed: seed)
        let device = model.device, context = model.architecture.context, classes = vocabulary.count
        var output = prompt
        let decoder = try GPT.Decoder(model: model)
        var logits: [Float] = []
        if tokens.count <= context { for token in tokens { logits = try decoder.append(token) } }
        let input = try device.makeBuffer(count: context)
        for _ in 0..<length {
            if tokens.count > context {
                // Past the context: the last `context` tokens at positions 0 ..< context, as a whole window.
                let window = Array(tokens.suffix(context))
                try device.write(window.map(Float.init), to: input.whole)
                logits = Array(try device.read(try model.forward(input: input.whole, rows: 1)).suffix(classes))
            }
            var scaled = logits.prefix(classes).map { Double($0 / temperature) }
            if let topK, topK < classes {
                let threshold = scaled.sorted(by: >)[topK - 1]
                scaled = scaled.map { $0 < threshold ? -.infinity : $0 }
            }
            let largest = scaled.max()!
            let weights = scaled.map { exp($0 - largest) }, total = weights.reduce(0, +)
            guard largest.isFinite, total.isFinite, total > 0 else {
                throw BIMTError.invalidSetting(
                    "the model's next-character scores are not finite (NaN or infinity): "
                        + "its weights are damaged")
            }
            var draw = Double.random(in: 0..<total, using: &generator)
            var choice = classes - 1
            for (i, w) in weights.enumerated() {
                if draw < w { choice = i; break }
                draw -= w
            }
            tokens.append(choice)
            output += vocabulary[choice]
            if tokens.count <= context { logits = try decoder.append(choice) }
        }
        return output
    }
}
