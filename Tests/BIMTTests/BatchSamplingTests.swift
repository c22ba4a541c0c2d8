@testable import BIMT
import BIMTCompute
import Foundation
import Testing

@Suite("batch sampling")
struct BatchSamplingTests {
    @Test("incontext draws its batches with replacement, as the reference's np.random.choice does")
    func inContextDrawsWithReplacement() throws {
        var configuration = try TrainingConfiguration.preset("incontext")
        #expect(configuration.batchSampling == .replacement)
        configuration.steps = 3
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil)
        try trainer.run()
        #expect(trainer.sampler == nil)
        let sampler = try #require(trainer.windowSampler)
        #expect(sampler.count == trainer.task.train.count && sampler.draws == 3 * 64)
        // An epoch's worth of independent draws repeats examples (about 1 - 1/e of them are seen).
        var fresh = WindowSampler(count: sampler.count, seed: sampler.seed)
        let seen = Set(fresh.next(sampler.count)).count
        #expect(seen < sampler.count * 7 / 10 && seen > sampler.count / 2, "\(seen) of \(sampler.count) seen")
    }

    @Test("a run drawing with replacement resumes bit-identical on the CPU path")
    func replacementResumes() throws {
        var configuration = try smallConfiguration(steps: 300, batchSize: 32)
        configuration.batchSampling = .replacement
        let whole = temporaryDirectory("replacement-whole"), split = temporaryDirectory("replacement-split")
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: split) }
        try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: whole).run()
        try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: split).run(until: 200)
        let resumed = try Trainer.resume(directory: split, device: Device.cpu())
        #expect(resumed.windowSampler?.draws == 200 * 32)
        try resumed.run()
        let a = try SafeTensors(contentsOf: whole.appending(path: Trainer.checkpointName))
        let b = try SafeTensors(contentsOf: split.appending(path: Trainer.checkpointName))
        for name in a.tensors.keys where a.tensors[name]?.dtype == .f32 {
            #expect(try a.floats(name).values == b.floats(name).values, "\(name) differs after resume")
        }
        // config.json records the sampling (and a file without it reads as epochs).
        let saved = try JSONDecoder().decode(
            TrainingConfiguration.self,
            from: Data(contentsOf: split.appending(path: "config.json")))
        #expect(saved.batchSampling == .replacement)
    }
}
