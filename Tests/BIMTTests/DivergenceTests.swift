@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// A NaN must stop a run cleanly, never hang it or reach a checkpoint.
@Suite("Divergence")
struct DivergenceTests {
    @Test(
        "a NaN injected mid-run stops it at the next relocation, naming the step; the last good checkpoint stays",
        arguments: [RelocationMethod.greedy, .assignment])
    func nanStopsCleanly(method: RelocationMethod) throws {
        for device in try TestDevices.all() {
            var configuration = try TrainingConfiguration.preset("independence")
            configuration.steps = 200
            configuration.swapEvery = 25
            configuration.checkpointEvery = 20
            configuration.logEvery = 1000 // no log step before the end: the relocation check must catch it
            configuration.relocation.method = method
            let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-nan-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let trainer = try Trainer(configuration: configuration, device: device, runDirectory: directory)
            try trainer.run(until: 40)
            let checkpoint = directory.appending(path: Trainer.checkpointName)
            let good = try Data(contentsOf: checkpoint)
            // One hidden weight becomes NaN after step 40; relocations run at 50, 75, ...
            let weight = trainer.model.network.connections[1].weight
            try device.write([.nan], to: trainer.model.parameters.slice(offset: weight.offset + 3, count: 1))
            #expect { try trainer.run() } throws: { error in
                guard case let BIMTError.diverged(_, step) = error else { return false }
                return step == 50 && "\(error)".contains("by step 50")
            }
            #expect(try Data(contentsOf: checkpoint) == good, "\(device.name): the checkpoint was overwritten")
            let loaded = try Trainer.load(checkpoint: checkpoint, device: device)
            #expect(loaded.step == 40)
            #expect(try device.read(loaded.model.parameters.whole).allSatisfy(\.isFinite))
        }
    }

    @Test(
        "a non-finite loss stops the run at the next log step as divergence, naming it; the last checkpoint stays",
        arguments: ["the train loss", "the test loss"])
    func nonFiniteLossDiverges(what: String) throws {
        for device in try TestDevices.all() {
            var configuration = try TrainingConfiguration.preset("independence")
            configuration.steps = 100
            configuration.relocation.method = .off // no relocation check: the log step must catch it
            configuration.checkpointEvery = 20
            configuration.logEvery = 10
            let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-nan-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let trainer = try Trainer(configuration: configuration, device: device, runDirectory: directory)
            try trainer.run(until: 40)
            let checkpoint = directory.appending(path: Trainer.checkpointName)
            let good = try Data(contentsOf: checkpoint)
            // NaN inputs after step 40: in training they make the loss (and the weights) NaN; in the
            // evaluation split only the test loss.
            let split = try #require(what == "the train loss" ? trainer.deviceData.train : trainer.deviceData.test)
            try device.fill(split.inputs.whole, value: .nan)
            #expect { try trainer.run() } throws: { error in
                guard case let BIMTError.diverged(named, step) = error else { return false }
                return named == what && step == 50 && "\(error)".contains("\(what) became non-finite")
            }
            #expect(try Data(contentsOf: checkpoint) == good, "\(device.name): the checkpoint was overwritten")
            #expect(try Trainer.load(checkpoint: checkpoint, device: device).step == 40)
        }
    }

    @Test("the relocation planner refuses non-finite scores for every method")
    func plannerRefusesNaN() {
        var scores = [Double](repeating: 1, count: 16)
        scores[5] = .nan
        for method in [RelocationMethod.greedy, .assignment] {
            #expect(throws: BIMTError.self) {
                _ = try RelocationPlanner.plan(
                    scores: scores, importance: [1, 2, 3, 4], units: 4, blockSize: nil, method: method, topK: 4)
            }
            #expect(throws: BIMTError.self) {
                _ = try RelocationPlanner.plan(
                    scores: [Double](repeating: 1, count: 16), importance: [1, .infinity, 3, 4], units: 4,
                    blockSize: 2, method: method, topK: 4)
            }
        }
    }

    @Test("a checkpoint is refused when the AdamW moments hold a NaN")
    func momentsChecked() throws {
        var configuration = try TrainingConfiguration.preset("independence")
        configuration.steps = 20
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-nan-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        try trainer.run(until: 10)
        try trainer.device.write(
            [.infinity], to: trainer.model.secondMoments.slice(offset: trainer.model.secondMoments.count - 1, count: 1))
        #expect { try trainer.saveCheckpoint() } throws: {
            "\($0)".contains("AdamW's second moments became non-finite")
        }
    }
}
