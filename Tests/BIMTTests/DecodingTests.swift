import BIMT
import BIMTCompute
import Foundation
import TestSupport
import Testing

/// Cached decoding against the full forward pass.
@Suite("Decoding with a key/value cache") struct DecodingTests {
    @Test(
        "each appended token's logits equal the forward pass's at its position (with/without LayerNorm and positions)",
        arguments: TestDevices.names)
    func cacheMatchesForward(device name: String) throws {
        let device = try TestDevices.named(name)
        for (layerNorm, positions) in [(true, true), (false, false)] {
            let a = TransformerArchitecture(
                layers: 2, width: 16, heads: 4, context: 12, vocabulary: 9, outputs: 9,
                layerNorm: layerNorm, positionalEmbedding: positions)
            let model = try GPT(architecture: a, costSettings: CostSettings(), device: device)
            try model.initialize(seed: 4)
            // Larger weights than the initialization's, so attention is far from uniform.
            var values = try device.read(model.parameters.whole)
            var generator = SeededGenerator(seed: 11)
            values = values.map { $0 + 0.3 * Float.random(in: -1...1, using: &generator) }
            try device.write(values, to: model.parameters.whole)
            let tokens = (0..<12).map { _ in Int.random(in: 0..<9, using: &generator) }
            let input = try device.makeBuffer(tokens.map { Float($0) })
            let full = try device.read(try model.forward(input: input.whole, rows: 1))
            let decoder = try GPT.Decoder(model: model)
            for (p, token) in tokens.enumerated() {
                let logits = try decoder.append(token)
                expectClose(
                    logits, Array(full[(p * 9)..<((p + 1) * 9)]), tolerance: 2e-5,
                    "\(name) position \(p) (LayerNorm \(layerNorm))")
            }
            #expect(throws: BIMTError.self) { _ = try decoder.append(0) } // the context is full
            decoder.reset()
            #expect(decoder.length == 0)
        }
    }

    @Test("top-k draws only among the k most likely tokens")
    func topK() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-topk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = FileManager.default.temporaryDirectory.appending(path: "bimt-topk-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: text) }
        try Data(String(repeating: "abcdefgh", count: 200).utf8).write(to: text)
        var configuration = try TrainingConfiguration.preset("charlm")
        configuration.task = .text(path: text.path)
        configuration.model = .transformer(
            TransformerArchitecture(layers: 1, width: 8, heads: 2, context: 8, vocabulary: 65, outputs: 65))
        configuration.steps = 3 // barely trained: nearly uniform logits
        configuration.learningRateSchedule = nil
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        try trainer.run()
        let generator = try TextGenerator(
            checkpoint: directory.appending(path: Trainer.checkpointName), device: Device.cpu())
        let model = try GPT.Decoder(model: generator.model)
        let logits = try model.append(0)
        let top2 = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(2).map { generator.vocabulary[$0] })
        for seed in 1...20 {
            let next = String(
                try generator.generate(prompt: "a", length: 1, temperature: 5, topK: 2, seed: UInt64(seed)).dropFirst())
            #expect(top2.contains(next), "\(next) not in \(top2)")
        }
        #expect(
            Set(
                (1...40).map {
                    String(
                        try! generator.generate(prompt: "a", length: 1, temperature: 5, seed: UInt64($0)).dropFirst())
                }
            ).count > 2)
    }
}
