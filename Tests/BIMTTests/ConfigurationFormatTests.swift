import BIMT
import BIMTCompute
import Foundation
import Testing

/// The typed configuration against files written before it existed: every preset's
/// config.json and two whole run directories (Tests/Fixtures, written by the release
/// binary of the version before typed configurations; see Tests/Fixtures/README.md).
@Suite struct ConfigurationFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures")

    static func copy(_ run: String) throws -> URL {
        let target = FileManager.default.temporaryDirectory.appending(path: "bimt-old-\(run)-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: fixtures.appending(path: "old-runs/\(run)"), to: target)
        return target
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    /// The fixtures' presets (those of the earlier version), and those whose settings changed since.
    static let fixturePresets = [
        "independence", "feature-sharing", "compositionality", "two-moons", "modadd", "s4", "mnist", "convnet",
        "incontext", "modadd-seq", "charlm", "gpt-bench",
    ]
    // charlm: now nanoGPT's recipe; incontext: batches drawn with replacement, as the reference draws them;
    // convnet (and charlm): precision auto (an old config.json without the field means fp32, as its run was).
    static let changedSince: Set<String> = ["charlm", "incontext", "convnet"]

    @Test(
        "each preset's config.json of the earlier version decodes to today's preset and encodes to the same bytes",
        arguments: fixturePresets)
    func presetFiles(name: String) throws {
        let bytes = try Data(contentsOf: Self.fixtures.appending(path: "presets/\(name).json"))
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: bytes)
        if !Self.changedSince.contains(name) {
            var expected = try TrainingConfiguration.preset(name)
            expected.steps = 1 // the files come from one-step runs
            #expect(decoded == expected)
        }
        // Written back, byte for byte (a transformer's unused MLP placeholder aside, which is no longer written).
        var original = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        if original["transformer"] != nil { original["architecture"] = nil }
        let reencoded = try JSONSerialization.jsonObject(with: Self.encoder.encode(decoded)) as? NSDictionary
        #expect(reencoded == original as NSDictionary)
    }

    @Test("an old run resumes and continues exactly as the earlier version continued it")
    func resumeOldRun() throws {
        let directory = try Self.copy("independence")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer.resume(directory: directory, device: Device.cpu(), steps: 600)
        #expect(trainer.step == 400)
        try trainer.run()
        func rows(_ url: URL) throws -> [[String]] {
            // step, train loss, test loss, ..., cost, lambda (seconds differ)
            try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
                let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                return Array(cells[0..<7])
            }
        }
        let actual = try rows(directory.appending(path: "metrics.csv"))
        let expected = try rows(directory.appending(path: "expected-metrics-600.csv"))
        #expect(actual.map(\.count) == expected.map(\.count))
        for (row, (a, e)) in zip(actual, expected).enumerated() {
            for (column, (x, y)) in zip(a, e).enumerated() where x != y {
                // Step, header and empty cells match exactly; numbers to float32 rounding (see above).
                guard let u = Double(x), let v = Double(y) else {
                    Issue.record("row \(row), column \(column): \(x) vs \(y)")
                    continue
                }
                #expect(
                    abs(u - v) <= Self.crossProcessorTolerance * abs(v),
                    "row \(row), column \(column): \(u) vs \(v)")
            }
        }
    }

    /// The fixtures were written on one processor. OpenBLAS picks its GEMM kernels by processor
    /// (SkylakeX, Cooperlake, Zen), and their float32 sums round differently, so on another
    /// processor a resumed run's losses agree with the file to rounding, not bit for bit. On an
    /// AMD EPYC (OpenBLAS Cooperlake), `bimt train --resume COPY --steps 600` of a copy of the
    /// independence fixture differed from expected-metrics-600.csv by at most 2.1e-7 relative,
    /// and `bimt analyze` of the fixture from expected-analyze.json by 8.6e-8: the bound is 1e-6.
    /// (Bit-identical resume on one processor is `resumeIsBitIdentical`.)
    static let crossProcessorTolerance = 1e-6

    @Test("analyze and render of an old run give what the earlier version gave")
    func analyzeAndRenderOldRun() throws {
        let directory = Self.fixtures.appending(path: "old-runs/independence")
        let checkpoint = directory.appending(path: Trainer.checkpointName)
        let trained = try TrainedModel.load(checkpoint: checkpoint, device: Device.cpu())
        let svg = try NetworkRenderer.svg(model: trained.model, names: trained.names)
        #expect(svg == (try String(contentsOf: directory.appending(path: "expected-render.svg"), encoding: .utf8)))

        let report = try Analysis.analyze(try Trainer.load(checkpoint: checkpoint, device: Device.cpu()))
        let expected = try JSONDecoder().decode(
            AnalysisReport.self, from: Data(contentsOf: directory.appending(path: "expected-analyze.json")))
        #expect(report.modules == expected.modules)
        #expect(report.fractionKept == expected.fractionKept)
        #expect(abs(report.lossBefore - expected.lossBefore) <= Self.crossProcessorTolerance * expected.lossBefore)
        #expect(abs(report.lossAfter - expected.lossAfter) <= Self.crossProcessorTolerance * expected.lossAfter)
        #expect(abs(report.connectionCost - expected.connectionCost) <= 1e-9 * expected.connectionCost)
    }

    @Test("an old character model samples the same text, and draws without its text file")
    func oldCharacterModel() throws {
        let directory = Self.fixtures.appending(path: "old-runs/charlm")
        let checkpoint = directory.appending(path: Trainer.checkpointName)
        // The run's text file (tiny.txt) is not in the fixture: neither sampling nor drawing reads data.
        #expect(!FileManager.default.fileExists(atPath: "tiny.txt"))
        let generator = try TextGenerator(checkpoint: checkpoint, device: Device.cpu())
        // 0.8: the CLI's default temperature
        let text = try generator.generate(prompt: "hel", length: 40, temperature: 0.8, seed: 3)
        #expect(
            text + "\n" == (try String(contentsOf: directory.appending(path: "expected-sample.txt"), encoding: .utf8)))
        let trained = try TrainedModel.load(checkpoint: checkpoint, device: Device.cpu())
        let svg = try NetworkRenderer.svg(model: trained.model, names: trained.names)
        #expect(svg.hasPrefix("<svg") && trained.names.outputs.count == trained.inputNames.count)
    }

    @Test("a new checkpoint records the task's names, so drawing it needs no data")
    func namesInCheckpoint() throws {
        var configuration = try TrainingConfiguration.preset("two-moons")
        configuration.steps = 10
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-names-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        try trainer.run()
        let file = try SafeTensors(contentsOf: directory.appending(path: Trainer.checkpointName))
        #expect(file.metadata["output_names"] == #"["moon 1","moon 2"]"#)
        let trained = try TrainedModel.load(
            checkpoint: directory.appending(path: Trainer.checkpointName), device: Device.cpu())
        #expect(trained.names == trainer.neuronNames && trained.step == 10)
    }
}

/// Configurations that cannot work are refused when they are built, naming the field, before
/// a run directory or a device buffer exists.
@Suite struct ConfigurationValidationTests {
    static func field(_ body: () throws -> Any) -> String? {
        do { _ = try body() } catch let BIMTError.invalidField(field, _) { return field } catch {
            return "other: \(error)"
        }
        return nil
    }

    @Test("a conv net with a text task, a sequence task for an MLP, a transformer on a table")
    func familiesAndTasks() throws {
        var conv = try TrainingConfiguration.preset("convnet")
        conv.task = .text(path: "a.txt")
        #expect(Self.field { try conv.validate() } == "task")
        var mlp = try TrainingConfiguration.preset("independence")
        mlp.task = .modularAdditionSequence(modulus: 7)
        #expect(Self.field { try mlp.validate() } == "task")
        var transformer = try TrainingConfiguration.preset("modadd-seq")
        transformer.task = .twoMoons
        #expect(Self.field { try transformer.validate() } == "task")
        #expect(Self.field { try TrainingConfiguration.preset("charlm").validate() } == "task.path")
        #expect(Self.field { try TrainingConfiguration.preset("no-such-preset") } == "preset")
    }

    @Test("heads that do not divide the width, and other fields, are named")
    func fields() throws {
        var o = TrainingConfiguration.Overrides()
        o.heads = 3
        let charlm = try TrainingConfiguration.preset("gpt-bench")
        #expect(Self.field { try charlm.applying(o) } == "transformer.heads")
        o = .init()
        o.widths = [4, 8, 2]
        #expect(Self.field { try charlm.applying(o) } == "architecture.widths")
        o = .init()
        o.layers = 2
        #expect(Self.field { try TrainingConfiguration.preset("independence").applying(o) } == "transformer.layers")
        o = .init()
        o.modulus = 7
        #expect(Self.field { try TrainingConfiguration.preset("s4").applying(o) } == "task.modulus")
        o = .init()
        o.learningRate = -1
        #expect(Self.field { try TrainingConfiguration.preset("s4").applying(o) } == "learningRate")
        o = .init()
        o.widths = [784, 10]
        #expect(Self.field { try TrainingConfiguration.preset("convnet").applying(o) } == "architecture.widths")
    }

    @Test("a modulus resizes the modadd model; user data set the loss and widths, and widths that disagree are refused")
    func impliedChanges() throws {
        var o = TrainingConfiguration.Overrides()
        o.modulus = 31
        let modadd = try TrainingConfiguration.preset("modadd").applying(o)
        #expect(
            modadd.task == .modularAddition(modulus: 31) && modadd.model.denseArchitecture?.widths.last == 31
                && modadd.model.denseArchitecture?.embedding?.vocabulary == 31)
        let sequence = try TrainingConfiguration.preset("modadd-seq").applying(o)
        #expect(
            sequence.model.transformerArchitecture?.vocabulary == 32
                && sequence.model.transformerArchitecture?.outputs == 31)

        let url = FileManager.default.temporaryDirectory.appending(path: "bimt-user-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(
            [
                .float32("train.inputs", shape: [4, 3], (0..<12).map(Float.init)),
                .int64("train.labels", shape: [4], [0, 1, 2, 1]),
                .float32("test.inputs", shape: [2, 3], [1, 2, 3, 4, 5, 6]),
                .int64("test.labels", shape: [2], [2, 0]),
            ], metadata: [:], to: url)
        o = .init()
        o.dataPath = url.path
        let user = try TrainingConfiguration.preset("independence").applying(o)
        #expect(user.task == .userData(path: url.path) && user.loss == .crossEntropy && user.preset == nil)
        #expect(user.model == .mlp(MLPArchitecture(widths: [3, 20, 20, 3], activation: .silu)))
        o.widths = [4, 8, 3]
        #expect(Self.field { try TrainingConfiguration.preset("independence").applying(o) } == "architecture.widths")
    }

    @Test("a trainer built from a model of its own trains on in-memory data; data that do not fit are refused first")
    func modelEntryPoint() throws {
        let data = try Tasks.symbolic(.independence, seed: 3)
        let model = try MLP(
            architecture: MLPArchitecture(widths: [4, 10, 2], activation: .silu),
            costSettings: CostSettings(weightFactor: 1, l0: 0.1, reduction: .sum), device: Device.cpu())
        try model.initialize(seed: 1)
        let options = TrainingOptions(
            loss: .mse, steps: 40, learningRate: 2e-3, lambda: 1e-3, swapEvery: 20, logEvery: 10)
        let trainer = try Trainer(model: model, data: data, options: options)
        var seen: [Int] = []
        let final = try #require(try trainer.run(progress: { seen.append($0.step) }))
        #expect(seen == [10, 20, 30, 40] && final.testLoss.isFinite && trainer.configuration == nil)
        let wrong = try MLP(
            architecture: MLPArchitecture(widths: [3, 10, 2]), costSettings: CostSettings(), device: Device.cpu())
        #expect(Self.field { try Trainer(model: wrong, data: data, options: options) } == "architecture.widths")
        var crossEntropy = options
        crossEntropy.loss = .crossEntropy
        #expect(Self.field { try Trainer(model: model, data: data, options: crossEntropy) } == "loss")
    }
}
