@testable import BIMT
import BIMTCompute
import Foundation
import Testing

@Suite struct SequenceTaskTests {
    static func temporaryFile(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "bimt-text-\(UUID().uuidString).txt")
        try Data(bytes).write(to: url)
        return url
    }

    @Test("modadd-seq holds every pair once as \"a b =\" with label (a + b) mod p")
    func modularAdditionSequence() throws {
        let task = try Tasks.modularAdditionSequence(modulus: 7, seed: 3)
        var seen = Set<Int>()
        for split in [task.train, task.test] {
            #expect(split.inputWidth == 3 && split.targetsPerExample == 1)
            guard case let .classification(labels, classes) = split.targets else {
                Issue.record("not classification"); return
            }
            #expect(classes == 7)
            for e in 0..<split.count {
                let a = Int(split.inputs[3 * e]), b = Int(split.inputs[3 * e + 1])
                #expect(split.inputs[3 * e + 2] == 7 && labels[e] == (a + b) % 7)
                seen.insert(a * 7 + b)
            }
        }
        #expect(seen.count == 49 && task.vocabulary == 8)
    }

    @Test(
        """
        in-context regression as the reference: x tokens [0, x], y tokens [y, 0], w ~ U[-1,1], x ~ U[1,3], \
        every y a target
        """
    )
    func inContext() throws {
        let task = try Tasks.inContextRegression(dimension: 2, pairs: 3, count: 50, seed: 4)
        let data = task.train, width = 5 * 3
        #expect(data.inputWidth == width && data.targetsPerExample == 3 && data.count == 40 && task.test.count == 10)
        guard case let .regression(values, _) = data.targets else { Issue.record("not regression"); return }
        for e in 0..<data.count {
            let x = Array(data.inputs[(e * width)..<((e + 1) * width)]), y = Array(values[(e * 3)..<(e * 3 + 3)])
            // x tokens at positions 0, 2, 4 ([0, x1, x2]); y tokens at 1, 3 ([y, 0, 0]) carry the targets
            // of the x before them.
            #expect(x[0] == 0 && x[6] == 0 && x[12] == 0 && x[4] == 0 && x[5] == 0 && x[10] == 0 && x[11] == 0)
            #expect(x[3] == y[0] && x[9] == y[1])
            let xs = [(x[1], x[2]), (x[7], x[8]), (x[13], x[14])]
            #expect(xs.allSatisfy { (1...3).contains($0.0) && (1...3).contains($0.1) })
            // Solve w from the first two pairs: it lies in [-1, 1]^2 and predicts y_3.
            let det = xs[0].0 * xs[1].1 - xs[0].1 * xs[1].0
            guard abs(det) > 0.2 else { continue }
            let w0 = (y[0] * xs[1].1 - y[1] * xs[0].1) / det, w1 = (xs[0].0 * y[1] - xs[1].0 * y[0]) / det
            #expect(abs(w0) <= 1.001 && abs(w1) <= 1.001)
            #expect(abs(w0 * xs[2].0 + w1 * xs[2].1 - y[2]) < 1e-3 * max(1, abs(y[2])))
        }
    }

    @Test("character text: sorted scalar vocabulary, next-character targets at every position, 90/10 split")
    func characterText() throws {
        let text = String(repeating: "abcabd é\n", count: 40)
        let url = try Self.temporaryFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        let task = try CharacterText.task(path: url.path, context: 8)
        #expect(task.inputNames == ["\n", " ", "a", "b", "c", "d", "é"] && task.vocabulary == 7)
        let data = task.train
        #expect(data.inputWidth == 8 && data.targetsPerExample == 8 && data.windows != nil)
        // Every window of the first 90 % of the characters, each predicting its next characters.
        let cut = Int(Double(text.unicodeScalars.count) * 0.9)
        #expect(data.count == cut - 8 && task.test.count == text.unicodeScalars.count - cut - 8)
        let tokens = text.unicodeScalars.map { task.inputNames.firstIndex(of: String($0))! }
        let (inputs, labels) = data.windowBatch(at: [0, 5, data.count - 1])
        for (w, offset) in [0, 5, data.count - 1].enumerated() {
            #expect(inputs[(w * 8)..<(w * 8 + 8)].map { Int($0) } == Array(tokens[offset..<(offset + 8)]))
            #expect(labels[(w * 8)..<(w * 8 + 8)].map { Int($0) } == Array(tokens[(offset + 1)...(offset + 8)]))
        }
        #expect(data.windows!.token(at: cut - 1) == tokens[cut - 1])
    }

    @Test("bad text files: missing, empty, not UTF-8, too short for the context")
    func badText() throws {
        #expect { _ = try CharacterText.read(path: "/no/such/file.txt") } throws: { "\($0)".contains("cannot be read") }
        let empty = try Self.temporaryFile([]), invalid = try Self.temporaryFile([0x61, 0xff, 0xfe, 0x62]),
            short = try Self.temporaryFile(Array("hello".utf8))
        defer { for url in [empty, invalid, short] { try? FileManager.default.removeItem(at: url) } }
        #expect { _ = try CharacterText.read(path: empty.path) } throws: { "\($0)".contains("is empty") }
        #expect { _ = try CharacterText.read(path: invalid.path) } throws: { "\($0)".contains("not valid UTF-8") }
        #expect { _ = try CharacterText.task(path: short.path, context: 64) } throws: {
            "\($0)".contains("holds 5 characters")
        }
    }

    @Test("a tiny transformer learns modadd-seq, relocates with greedy and assignment, and resumes bit for bit")
    func trainResume() throws {
        var configuration = try TrainingConfiguration.preset("modadd-seq")
        configuration.task = .modularAdditionSequence(modulus: 11)
        configuration.model = .transformer(
            TransformerArchitecture(
                layers: 1, width: 16, heads: 2, context: 3, vocabulary: 12, outputs: 11,
                lastPositionOnly: true))
        configuration.steps = 60
        configuration.batchSize = 32
        configuration.swapEvery = 20
        configuration.logEvery = 20
        configuration.checkpointEvery = 30
        for method in [RelocationMethod.greedy, .assignment] {
            configuration.relocation.method = method
            let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-gpt-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let full = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil)
            let reference = try full.run()
            #expect(full.model.network.permutations[1] != Array(0..<16), "the residual stream should have moved")
            var stopAt = 30
            let first = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
            _ = try first.run(shouldStop: {
                stopAt -= 1; return stopAt < 0
            })
            let resumed = try Trainer.resume(directory: directory, device: Device.cpu())
            let final = try resumed.run()
            #expect(final?.testLoss == reference?.testLoss && final?.trainLoss == reference?.trainLoss, "\(method)")
            #expect(
                try resumed.device.read(resumed.model.parameters.whole) == full.device.read(full.model.parameters.whole)
            )
        }
    }

    @Test("a character model trains, is sampled from its checkpoint alone, and rejects unknown prompt characters")
    func sampleText() throws {
        let url = try Self.temporaryFile(Array(String(repeating: "the cat sat on the mat. ", count: 60).utf8))
        defer { try? FileManager.default.removeItem(at: url) }
        var configuration = try TrainingConfiguration.preset("charlm")
        configuration.task = .text(path: url.path)
        configuration.model = .transformer(
            TransformerArchitecture(layers: 1, width: 16, heads: 2, context: 16, vocabulary: 65, outputs: 65))
        configuration.steps = 150
        configuration.learningRate = 1e-2
        configuration.learningRateSchedule = nil
        configuration.batchSize = 32
        configuration.logEvery = 150
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-lm-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        // " .acehmnost": counted from the file
        #expect(trainer.configuration?.model.transformerArchitecture?.vocabulary == 11)
        let final = try #require(try trainer.run())
        #expect(final.testLoss < 1.0, "a repeated sentence should be easy: test loss \(final.testLoss)")
        try FileManager.default.removeItem(at: url) // sampling needs only the checkpoint
        let generator = try TextGenerator(
            checkpoint: directory.appending(path: Trainer.checkpointName), device: Device.cpu())
        let text = try generator.generate(prompt: "the c", length: 40, temperature: 0.5, seed: 2)
        #expect(text.hasPrefix("the c") && text.unicodeScalars.count == 45)
        #expect(text.contains("sat on the"), "\(text)")
        #expect { _ = try generator.generate(prompt: "the dog", length: 5) } throws: {
            "\($0)".contains("'d'") && "\($0)".contains("'g'")
        }
    }

    @Test(
        """
        a JSON config sets transformer fields over a preset (or adds a transformer to an MLP preset); \
        unknown fields are named
        """
    )
    func configurationFile() throws {
        let base = try TrainingConfiguration.preset("modadd-seq")
        let changed = try ConfigurationFile.apply(
            data: Data(#"{"transformer": {"layers": 2, "heads": 8}}"#.utf8), path: "c.json", over: base)
        let t = try #require(changed.model.transformerArchitecture)
        #expect(t.layers == 2 && t.heads == 8 && t.width == 128)
        let added = try ConfigurationFile.apply(
            data: Data(
                #"""
                {"task": {"kind": "incontext"}, "loss": "mse", "transformer": {"layers": 1, "width": 8, "heads": 2, \#
                "context": 3, "inputFeatures": 2, "outputs": 1, "mlpRatio": 4, "lastPositionOnly": true}}
                """#.utf8),
            path: "c.json", over: try TrainingConfiguration.preset("independence"))
        try added.validate()
        #expect(try added.makeTask().train.inputWidth == 6)
        #expect {
            _ = try ConfigurationFile.apply(
                data: Data(#"{"transformer": {"depth": 2}}"#.utf8), path: "c.json", over: base)
        } throws: { "\($0)".contains("unknown field 'transformer.depth'") }
    }

    @Test("a transformer whose vocabulary is smaller than the task's tokens is refused before training")
    func vocabularyTooSmall() throws {
        var configuration = try TrainingConfiguration.preset("modadd-seq")
        configuration.model.transformerArchitecture?.vocabulary = 50
        #expect { _ = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil) } throws: {
            "\($0)".contains("vocabulary of 50") && "\($0)".contains("vocabulary of 114")
        }
        configuration = try TrainingConfiguration.preset("incontext")
        configuration.model.transformerArchitecture?.predictionStride = 1
        #expect { _ = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil) } throws: {
            "\($0)".contains("2 targets per sequence; the model predicts 3")
        }
    }

    @Test("analyze reports a transformer's live heads, MLP neurons and residual dimensions")
    func transformerAnalysis() throws {
        var configuration = try TrainingConfiguration.preset("modadd-seq")
        configuration.task = .modularAdditionSequence(modulus: 7)
        configuration.model = .transformer(
            TransformerArchitecture(
                layers: 1, width: 8, heads: 2, context: 3, vocabulary: 8, outputs: 7,
                mlpRatio: 2, lastPositionOnly: true))
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil)
        let gpt = try #require(trainer.model as? GPT)
        var values = try trainer.device.read(gpt.parameters.whole)
        let block = gpt.views.blocks[0]
        // Head 1 loses its keys (k rows 12..<16 of qkv); MLP neurons 0 and 3 lose their inputs; residual
        // dimension 5 is cut everywhere.
        for row in 12..<16 { for c in 0..<8 { values[block.qkvWeight.offset + row * 8 + c] = 0 } }
        for n in [0, 3] { for c in 0..<8 { values[block.fcWeight.offset + n * 8 + c] = 0 } }
        for v in [block.qkvWeight, block.fcWeight, gpt.views.headWeight] {
            for r in 0..<v.rows { values[v.offset + r * v.columns + 5] = 0 }
        }
        for v in [block.projWeight, block.mlpProjWeight] {
            for c in 0..<v.columns { values[v.offset + 5 * v.columns + c] = 0 }
        }
        for t in 0..<8 { values[gpt.views.embedWeight.offset + t * 8 + 5] = 0 }
        try trainer.device.write(values, to: gpt.parameters.whole)
        let report = try Analysis.analyze(trainer, threshold: 0)
        let blocks = try #require(report.blocks)
        #expect(blocks[0].headsAlive == 1 && blocks[0].mlpNeuronsAlive == 14 && blocks[0].mlpNeurons == 16)
        #expect(report.residualDimensionsUsed == 7)
    }

    @Test("a transformer's config.json has no MLP architecture; configurations round-trip through JSON")
    func configurationJSON() throws {
        for name in TrainingConfiguration.presetNames {
            let preset = try TrainingConfiguration.preset(name)
            let data = try JSONEncoder().encode(preset)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect((object["architecture"] == nil) == (preset.model.transformerArchitecture != nil), "\(name)")
            #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: data) == preset, "\(name)")
        }
    }
}
