@testable import BIMT
import BIMTCompute
import Foundation
import Testing

@Suite("validation examples held out of training")
struct ValidationSplitTests {
    @Test("held-out examples are a seeded choice of training rows, disjoint from the rest, with their targets")
    func holdingOut() throws {
        let data = try Tasks.twoMoons(seed: 4)
        let split = try data.holdingOut(50, seed: 9)
        #expect(split.train.count == data.train.count - 50 && split.test.count == 50)
        // Every example lands on one side, with its label; the test split is not read.
        func rows(_ d: Dataset) -> [[Float]] {
            guard case let .classification(labels, _) = d.targets else { return [] }
            return (0..<d.count).map { Array(d.inputs[(2 * $0)..<(2 * $0 + 2)]) + [Float(labels[$0])] }
        }
        let all = rows(data.train), train = rows(split.train), held = rows(split.test)
        #expect(Set(train).isDisjoint(with: Set(held)) && Set(train).union(held) == Set(all))
        #expect(Set(held).isDisjoint(with: Set(rows(data.test))))
        #expect(try data.holdingOut(50, seed: 9) == split)
        #expect(try data.holdingOut(50, seed: 10) != split)
        for bad in [0, data.train.count] {
            #expect(throws: BIMTError.self) { _ = try data.holdingOut(bad, seed: 1) }
        }
    }

    @Test("a run with validation examples evaluates on them, resumes, and analyze reads the test split when asked")
    func runWithValidation() throws {
        let directory = temporaryDirectory("validation")
        defer { try? FileManager.default.removeItem(at: directory) }
        var overrides = TrainingConfiguration.Overrides()
        (overrides.steps, overrides.checkpointEvery, overrides.logEvery, overrides.validationExamples) =
            (200, 100, 100, 40)
        let configuration = try TrainingConfiguration.preset("two-moons").applying(overrides)
        // The same from a --config file (and batch sampling, the other field a preset may leave out).
        let file = try ConfigurationFile.apply(
            data: Data(#"{"validationExamples": 40, "batchSampling": "replacement"}"#.utf8),
            path: "config.json", over: try TrainingConfiguration.preset("two-moons"))
        #expect(file.validationExamples == 40 && file.batchSampling == .replacement)
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        #expect(trainer.task.train.count == 160 && trainer.evaluationData.count == 40)
        try trainer.run(until: 100)
        let resumed = try Trainer.resume(directory: directory, device: Device.cpu())
        #expect(resumed.step == 100 && resumed.task == trainer.task)
        try resumed.run()
        let checkpoint = directory.appending(path: Trainer.checkpointName)
        let onValidation = try Analysis.analyze(try Trainer.load(checkpoint: checkpoint, device: Device.cpu()))
        let test = try Trainer.load(checkpoint: checkpoint, device: Device.cpu(), onTestSplit: true)
        #expect(test.evaluationData.count == 200)
        let onTest = try Analysis.analyze(test)
        #expect(onValidation.evaluatedOn == "validation" && onTest.evaluatedOn == "test")
        #expect(onValidation.lossBefore != onTest.lossBefore)
        // A token stream has its own evaluation split.
        let text = directory.appending(path: "text.txt")
        try Data(String(repeating: "the cat sat on the mat. ", count: 200).utf8).write(to: text)
        var charlm = try TrainingConfiguration.preset("charlm")
        charlm.task = .text(path: text.path)
        charlm.validationExamples = 10
        #expect(throws: BIMTError.self) { _ = try charlm.makeTask() }
    }
}
