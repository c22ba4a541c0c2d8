@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// `Checkpoint` owns the file format: what it writes it reads back whole, and the files an
/// earlier bimt wrote read the same and encode to the same bytes.
@Suite("Checkpoint")
struct CheckpointTests {
    static let oldRuns = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "Fixtures/old-runs")

    @Test("a checkpoint written and read back keeps every field")
    func roundTrip() throws {
        let configuration = try TrainingConfiguration.preset("independence")
        let data = try configuration.makeTask()
        var sampler = BatchSampler(count: 64, batchSize: 16, seed: 3)
        var windows = WindowSampler(count: 100, seed: 4)
        _ = windows.next(5)
        sampler = try JSONDecoder().decode(BatchSampler.self, from: try JSONEncoder().encode(sampler))
        var checkpoint = Checkpoint()
        checkpoint.tensors = [
            NamedTensor("layers.0.weight", shape: [2, 3], [1, -2, 3, 0.5, .pi, -0]),
            NamedTensor("layers.0.bias", shape: [2], [0.25, -1e-30]),
        ]
        checkpoint.firstMoments = NamedTensor("optimizer.exp_avg", shape: [8], (0..<8).map { Float($0) / 7 })
        checkpoint.secondMoments = NamedTensor("optimizer.exp_avg_sq", shape: [8], (0..<8).map { Float($0 * $0) })
        checkpoint.inputPermutation = [2, 0, 1]
        checkpoint.outputPermutation = [1, 0]
        checkpoint.permutations = [[2, 0, 1], [1, 0]]
        checkpoint.layouts = [LayerLayoutRecord(name: "input", layout: try .line(neurons: 3, name: "input"))]
        checkpoint.formatName = Checkpoint.format
        checkpoint.step = 1234
        checkpoint.elapsedSeconds = 12.345678901234
        checkpoint.configuration = configuration
        checkpoint.inputNames = ["a", "b", "c"]
        checkpoint.outputNames = ["y", "z"]
        checkpoint.vocabulary = ["x", "\u{e9}"]
        checkpoint.dataFingerprint = DataFingerprint(data)
        checkpoint.sampler = sampler
        checkpoint.windowSampler = windows
        checkpoint.bestTestLoss = 0.1 + 0.2
        checkpoint.otherMetadata = ["written_by": "a later bimt"]
        let url = FileManager.default.temporaryDirectory
            .appending(path: "bimt-checkpoint-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try checkpoint.write(to: url)
        var read = try Checkpoint.read(from: url)
        #expect(read.path == url.path)
        read.path = checkpoint.path
        #expect(read == checkpoint)
        // Field by field, so a failure names the field.
        #expect(read.tensors == checkpoint.tensors)
        #expect(read.firstMoments == checkpoint.firstMoments && read.secondMoments == checkpoint.secondMoments)
        #expect(read.inputPermutation == [2, 0, 1] && read.outputPermutation == [1, 0])
        #expect(read.permutations == checkpoint.permutations && read.layouts == checkpoint.layouts)
        #expect(read.formatName == Checkpoint.format && read.step == 1234 && read.elapsedSeconds == 12.345678901234)
        #expect(read.configuration == configuration)
        #expect(read.inputNames == ["a", "b", "c"] && read.outputNames == ["y", "z"])
        #expect(read.vocabulary == ["x", "\u{e9}"])
        #expect(read.dataFingerprint == DataFingerprint(data))
        #expect(read.sampler == sampler && read.windowSampler == windows)
        #expect(read.bestTestLoss == 0.1 + 0.2)
        #expect(read.otherMetadata == ["written_by": "a later bimt"])
        // The same bytes again.
        #expect(try read.encoded() == Data(contentsOf: url))
    }

    @Test("a trainer's checkpoint reads back as the trainer made it, and resumes")
    func trainerRoundTrip() throws {
        var configuration = try TrainingConfiguration.preset("independence")
        configuration.steps = 20
        configuration.batchSize = 32
        configuration.checkpointEvery = 10
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-checkpoint-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        try trainer.run(until: 10)
        let url = directory.appending(path: Checkpoint.fileName)
        var made = try trainer.checkpoint()
        let read = try Checkpoint.read(from: url)
        made.path = url.path
        #expect(read.tensors == made.tensors && read.firstMoments == made.firstMoments)
        #expect(read.step == 10 && read.configuration == trainer.configuration)
        #expect(read.dataFingerprint == trainer.dataFingerprint)
        #expect(read.sampler?.position == made.sampler?.position && read.sampler?.epoch == made.sampler?.epoch)
        #expect(try read.encoded() == Data(contentsOf: url))
        #expect(try Trainer.resume(directory: directory, device: Device.cpu()).step == 10)
    }

    @Test(
        "the old runs' checkpoints read, and encode to the bytes they were written as",
        arguments: ["independence", "charlm"])
    func oldFixtures(run: String) throws {
        let url = Self.oldRuns.appending(path: "\(run)/\(Checkpoint.fileName)")
        let checkpoint = try Checkpoint.read(from: url)
        #expect(checkpoint.formatName == Checkpoint.format)
        let configuration = try checkpoint.requireConfiguration()
        #expect(checkpoint.step == (run == "charlm" ? 20 : 400))
        #expect(!checkpoint.tensors.isEmpty && checkpoint.firstMoments != nil && checkpoint.secondMoments != nil)
        // The older independence run predates recorded names; charlm's are its vocabulary.
        #expect((checkpoint.taskNames != nil) == (run == "charlm"))
        // The host-side model: its arrangement and weights, no device.
        let stored = try StoredModel(checkpoint)
        #expect(stored.configuration == configuration && !stored.values.isEmpty && stored.values.allSatisfy(\.isFinite))
        #expect(stored.network.permutations == (try checkpoint.arrangement(from: stored.network.permutations)))
        #expect(try checkpoint.encoded() == Data(contentsOf: url))
    }

    @Test("a file of weights alone (no metadata) reads, with no configuration")
    func weightsAlone() throws {
        let bytes = try SafeTensors.encode(
            [
                .float32("layers.0.weight", shape: [1, 2], [1, 2]),
                .int64("in_perm", shape: [2], [1, 0]),
            ], metadata: [:])
        let checkpoint = try Checkpoint(bytes: bytes, path: "weights.safetensors")
        #expect(checkpoint.tensors == [NamedTensor("layers.0.weight", shape: [1, 2], [1, 2])])
        #expect(checkpoint.inputPermutation == [1, 0] && checkpoint.configuration == nil && checkpoint.step == nil)
        #expect(throws: BIMTError.self) { try checkpoint.requireConfiguration() }
        #expect(try checkpoint.arrangement(from: [[0, 1], [0]]) == [[1, 0], [0]])
        // A parameter of another element type is named as such, not as missing.
        let integers = try SafeTensors.encode([.int64("layers.0.weight", shape: [1, 2], [1, 2])], metadata: [:])
        let wrongType = try Checkpoint(bytes: integers, path: "ints.safetensors")
        do {
            _ = try wrongType.parameters.tensor("layers.0.weight")
            Issue.record("an int64 tensor was read as a parameter")
        } catch let BIMTError.invalidFile(path, reason) {
            #expect(path == "ints.safetensors" && reason == "tensor 'layers.0.weight' is I64, expected F32 or F64")
        }
    }
}
