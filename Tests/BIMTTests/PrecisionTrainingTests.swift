import BIMT
import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Mixed precision in training: the setting in presets and config.json, the choice on each
/// device, bf16 training against fp32, and resuming at another precision.
@Suite("mixed-precision training")
struct PrecisionTrainingTests {
    @Test("the larger models' presets ask for auto; the paper's stay fp32")
    func presets() throws {
        for name in TrainingConfiguration.presetNames {
            let expected: PrecisionSetting =
                ["charlm", "gpt-small", "convnet", "convnet-large"].contains(name) ? .auto : .fp32
            #expect(try TrainingConfiguration.preset(name).precision == expected, "\(name)")
        }
    }

    @Test("config.json writes precision only when it is not fp32, and reads it back; a bad value is named")
    func configurationFile() throws {
        var c = try TrainingConfiguration.preset("gpt-bench")
        let plain = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        #expect(!plain.contains("precision"))
        c.precision = .bf16
        let data = try JSONEncoder().encode(c)
        #expect(String(decoding: data, as: UTF8.self).contains("\"precision\":\"bf16\""))
        #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: data).precision == .bf16)
        let file = FileManager.default.temporaryDirectory.appending(path: "bimt-precision-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"precision": "bf16"}"#.utf8).write(to: file)
        #expect(try ConfigurationFile.apply(path: file.path, over: .preset("mnist")).precision == .bf16)
        try Data(#"{"precision": "fp16"}"#.utf8).write(to: file)
        do {
            _ = try ConfigurationFile.apply(path: file.path, over: .preset("mnist"))
            Issue.record("fp16 accepted")
        } catch {
            #expect("\(error)".contains("precision"), "\(error)")
        }
    }

    @Test("OpenCL: auto stays fp32 (no matrix units), and bf16 training agrees with the CPU path's")
    func openCL() throws {
        guard TestDevices.runOpenCLTests, try TestDevices.bf16CPU() != nil else { return }
        let device = try TestDevices.openCL()
        var c = try TrainingConfiguration.preset("gpt-bench")
        c.precision = .auto
        #expect(try Trainer(configuration: c, device: device, runDirectory: nil).precision.precision == .fp32)
        let (_, gpu) = try Self.run(.bf16, steps: 3, device: device)
        let (_, cpu) = try Self.run(.bf16, steps: 3, device: Device.cpu())
        for (step, (a, b)) in zip(cpu, gpu).enumerated() {
            expectClose(a, b, relative: 2e-3, "bf16 train loss at step \(step + 1), CPU path against OpenCL")
        }
    }

    /// A text with structure to learn: sentences drawn from a few words, seeded.
    static let text: URL = {
        var generator = SeededGenerator(seed: 9)
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "its", "bed"]
        var sentences: [String] = []
        for _ in 0..<3000 {
            let count = Int.random(in: 3...7, using: &generator)
            sentences.append((0..<count).map { _ in words.randomElement(using: &generator)! }.joined(separator: " "))
        }
        let url = FileManager.default.temporaryDirectory.appending(path: "bimt-precision-\(UUID().uuidString).txt")
        try! Data((sentences.joined(separator: ".\n") + ".\n").utf8).write(to: url)
        return url
    }()

    /// charlm's model on `text`, `steps` steps at a constant learning rate, logging every step.
    static func run(_ precision: PrecisionSetting, steps: Int, device: Device, directory: URL? = nil) throws -> (
        Trainer, [Double]
    ) {
        var overrides = TrainingConfiguration.Overrides()
        overrides.textPath = text.path
        var c = try TrainingConfiguration.preset("charlm").applying(overrides)
        c.learningRateSchedule = nil
        c.steps = steps
        c.logEvery = 1
        c.evalBatches = 1
        c.precision = precision
        let trainer = try Trainer(configuration: c, device: device, runDirectory: directory)
        var losses: [Double] = []
        for _ in 0..<steps { if let m = try trainer.trainStep() { losses.append(m.trainLoss) } }
        return (trainer, losses)
    }

    /// bf16 products change each step's loss by far less than training changes it: the two
    /// runs' losses stay within 1 % of each other, step by step, while the loss falls by a third.
    @Test("20 steps of charlm in bf16 follow the fp32 run within 1 %")
    func followsFP32() throws {
        guard try TestDevices.bf16CPU() != nil else { return }
        let (_, fp32) = try Self.run(.fp32, steps: 20, device: Device.cpu())
        let (trainer, bf16) = try Self.run(.bf16, steps: 20, device: Device.cpu())
        #expect(trainer.precision.precision == .bf16)
        #expect(fp32.last! < fp32.first! * 2 / 3, "the run learns: \(fp32.first!) -> \(fp32.last!)")
        for (step, (a, b)) in zip(fp32, bf16).enumerated() {
            expectClose(a, b, relative: 0.01, "train loss at step \(step + 1)")
        }
        #expect(fp32 != bf16, "bf16 products made no difference at all")
    }

    @Test("a run checkpointed in fp32 resumes in bf16 (checkpoints hold fp32), and back")
    func resumeAtAnotherPrecision() throws {
        guard try TestDevices.bf16CPU() != nil else { return }
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-resume-bf16-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (first, _) = try Self.run(.fp32, steps: 4, device: Device.cpu(), directory: directory)
        try first.saveCheckpoint()
        let resumed = try Trainer.resume(directory: directory, device: Device.cpu(), steps: 6, precision: .bf16)
        #expect(resumed.step == 4 && resumed.precision.precision == .bf16)
        let metrics = try #require(try resumed.trainStep())
        #expect(metrics.trainLoss.isFinite)
        try resumed.saveCheckpoint()
        let back = try Trainer.resume(directory: directory, device: Device.cpu(), precision: .fp32)
        #expect(back.step == 5 && back.precision.precision == .fp32)
    }
}
