@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// Writes a synthetic MNIST-format folder of `side` x `side` images whose label is the
/// brightest quadrant-ish stripe, so a model can learn something.
func writeSyntheticImages(to folder: URL, side: Int, train: Int, test: Int) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var generator = SeededGenerator(seed: 99)
    func write(_ prefix: String, _ count: Int) throws {
        var images: [UInt8] = [0, 0, 8, 3], labels: [UInt8] = [0, 0, 8, 1]
        for d in [count, side, side] {
            images += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)]
        }
        labels += [UInt8(count >> 24 & 255), UInt8(count >> 16 & 255), UInt8(count >> 8 & 255), UInt8(count & 255)]
        for _ in 0..<count {
            let label = Int.random(in: 0..<10, using: &generator)
            for y in 0..<side {
                for x in 0..<side {
                    images.append((x + y) % 10 == label ? 255 : UInt8.random(in: 0..<40, using: &generator))
                }
            }
            labels.append(UInt8(label))
        }
        try Data(images).write(to: folder.appending(path: "\(prefix)-images-idx3-ubyte"))
        try Data(labels).write(to: folder.appending(path: "\(prefix)-labels-idx1-ubyte"))
    }
    try write("train", train)
    try write("t10k", test)
}

@Suite("Pictures")
struct RenderTests {
    @Test("a conv net renders as sheets; an image MLP's receptive fields render as a PNG")
    func pictures() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "bimt-images-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeSyntheticImages(to: folder, side: 8, train: 200, test: 50)

        var conv = try TrainingConfiguration.preset("convnet")
        conv.task = .images(folder: folder.path)
        let convolution = ConvNetArchitecture(imageHeight: 8, imageWidth: 8, imageChannels: 1, channels: [4, 9])
        conv.model = .convNet(
            convolution,
            head: MLPArchitecture(widths: [convolution.flattenedWidth, 16, 10], activation: .relu, layout: .grid))
        conv.steps = 30
        let convTrainer = try Trainer(configuration: conv, device: Device.cpu(), runDirectory: nil)
        try convTrainer.run()
        let svg = try NetworkRenderer.svg(convTrainer)
        #expect(svg.hasPrefix("<svg") && svg.contains("<line") && svg.hasSuffix("</svg>\n"))
        // One band per swap group: input sheet, two channel sheets, the head's hidden layer, the output ring.
        #expect(svg.components(separatedBy: "<circle").count - 1 == 1 + 4 + 9 + 16 + 10)
        #expect(throws: BIMTError.self) { try NetworkRenderer.receptiveFields(model: convTrainer.model) }
        // Unpruned first (analysis prunes the model in place).
        let unpruned = try Analysis.analyze(convTrainer, threshold: 0)
        let report = try Analysis.analyze(convTrainer, threshold: 0.1)
        // Every module counts its hidden neurons per channel sheet; with no module that would hold vacuously.
        #expect(report.convolutionFractionKept != nil && !report.modules.isEmpty, "\(report.modules)")
        #expect(report.modules.allSatisfy { $0.hiddenNeurons.count == 3 }, "\(report.modules)")
        // Channels per block (the channel sheets, not the head's hidden layer), and those in a
        // module: all of them unpruned.
        #expect(report.channels == [4, 9])
        #expect(
            report.channelsConnected
                == (0..<2).map { b in report.modules.reduce(0) { $0 + $1.hiddenNeurons[b] } })
        #expect(unpruned.channelsConnected == [4, 9] && unpruned.channels == [4, 9], "\(unpruned.modules)")

        var mlp = try TrainingConfiguration.preset("mnist")
        mlp.task = .images(folder: folder.path)
        mlp.model.denseArchitecture?.widths = [64, 16, 10]
        mlp.steps = 30
        let mlpTrainer = try Trainer(configuration: mlp, device: Device.cpu(), runDirectory: nil)
        try mlpTrainer.run()
        let (width, height, rgb) = try NetworkRenderer.receptiveFields(model: mlpTrainer.model)
        let png = try PNG.encode(width: width, height: height, rgb: rgb)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(width == 4 * (8 * 3 + 2) && height == 4 * (8 * 3 + 2)) // a 4 x 4 grid of 8 x 8 fields, 3x scaled
    }

    @Test("a checkpoint drawn on the host is the model drawn from its device: MLP, conv net, GPT")
    func storedDrawing() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "bimt-stored-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeSyntheticImages(to: folder.appending(path: "images"), side: 8, train: 100, test: 20)
        var mlp = try TrainingConfiguration.preset("mnist")
        mlp.task = .images(folder: folder.appending(path: "images").path)
        mlp.model.denseArchitecture?.widths = [64, 16, 10]
        var conv = mlp
        let convolution = ConvNetArchitecture(imageHeight: 8, imageWidth: 8, imageChannels: 1, channels: [4, 9])
        conv.model = .convNet(
            convolution,
            head: MLPArchitecture(widths: [convolution.flattenedWidth, 10], activation: .relu, layout: .grid))
        var gpt = try TrainingConfiguration.preset("modadd-seq")
        gpt.model.transformerArchitecture?.layers = 1
        for (name, var configuration) in [("mlp", mlp), ("conv", conv), ("gpt", gpt)] {
            // Enough steps for relocations, so the stored permutations are not the identity.
            configuration.steps = 60
            configuration.swapEvery = 20
            configuration.checkpointEvery = 60
            let run = folder.appending(path: name)
            let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: run)
            try trainer.run()
            let stored = try StoredModel.load(checkpoint: run.appending(path: Trainer.checkpointName))
            #expect(stored.step == 60)
            #expect(stored.values == (try trainer.device.read(trainer.model.parameters.whole)), "\(name)")
            #expect(stored.network.permutations == trainer.model.network.permutations, "\(name)")
            #expect(
                NetworkRenderer.svg(stored) == (try NetworkRenderer.svg(trainer)),
                "\(name): the stored drawing differs")
            if name == "mlp" {
                let host = try NetworkRenderer.receptiveFields(stored)
                let device = try NetworkRenderer.receptiveFields(model: trainer.model)
                #expect(host.0 == device.0 && host.1 == device.1 && host.2 == device.2)
            }
        }
    }

    @Test("a missing image folder says how to get the data")
    func missingImages() throws {
        do {
            _ = try ImageData.load(directory: "/nonexistent-images")
            Issue.record("loaded a missing folder")
        } catch let BIMTError.invalidFile(_, reason) {
            #expect(
                reason.contains("give a folder holding the four MNIST-format IDX files")
                    && reason.contains("train-images-idx3-ubyte"))
        }
    }
}
