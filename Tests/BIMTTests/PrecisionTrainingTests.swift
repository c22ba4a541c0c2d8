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

    /// A conv net's products (im2col columns times the filters, forward and backward) go
    /// through bf16 too: its output and gradients move by bf16's rounding, not more, and the
    /// CPU path and OpenCL agree on them.
    @Test("conv nets in bf16: close to fp32, not equal to it, the same on both devices")
    func convNet() throws {
        guard try TestDevices.bf16CPU() != nil else { return }
        let convolution = ConvNetArchitecture(
            imageHeight: 12, imageWidth: 12, imageChannels: 1, channels: [8, 16], kernelSize: 3, pool: "max",
            poolSize: 2)
        let head = MLPArchitecture(widths: [convolution.flattenedWidth, 10], activation: .relu, layout: .grid)
        var generator = SeededGenerator(seed: 12)
        let images = generator.uniform(6 * 144)
        func run(_ device: Device, _ precision: MatrixPrecision) throws -> (output: [Float], gradients: [Float]) {
            let net = try ConvNet(convolution: convolution, head: head, costSettings: CostSettings(), device: device)
            try net.initialize(seed: 3)
            try device.setMatrixPrecision(precision)
            let input = try device.makeBuffer(images)
            let output = try net.forward(input: input.whole, rows: 6)
            let values = try device.read(output)
            try device.fill(net.gradients.whole, value: 0)
            try net.backward(input: input.whole, rows: 6, outputGradient: try device.makeBuffer(values).whole)
            return (values, try device.read(net.gradients.whole))
        }
        let fp32 = try run(Device.cpu(), .fp32), bf16 = try run(Device.cpu(), .bf16)
        expectClose(bf16.output, fp32.output, tolerance: 2e-2, "bf16 logits against fp32")
        expectClose(bf16.gradients, fp32.gradients, tolerance: 3e-2, "bf16 gradients against fp32")
        #expect(bf16.output != fp32.output, "bf16 made no difference")
        if TestDevices.runOpenCLTests {
            let openCL = try run(try TestDevices.openCL(), .bf16)
            expectClose(openCL.output, bf16.output, tolerance: 1e-4, "bf16 logits, OpenCL against the CPU path")
            expectClose(
                openCL.gradients, bf16.gradients, tolerance: 1e-3, "bf16 gradients, OpenCL against the CPU path")
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
        // config.json records the new precision: a plain resume keeps it.
        let again = try Trainer.resume(directory: directory, device: Device.cpu())
        #expect(again.step == 5 && again.precision.precision == .bf16)
        let back = try Trainer.resume(directory: directory, device: Device.cpu(), precision: .fp32)
        #expect(back.step == 5 && back.precision.precision == .fp32)
        #expect(try Trainer.resume(directory: directory, device: Device.cpu()).precision.precision == .fp32)
    }
}
