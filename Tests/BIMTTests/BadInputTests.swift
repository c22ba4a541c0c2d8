@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// Inputs that used to trap, read out of bounds or loop forever: each must be a `BIMTError`
/// that names what is wrong.
@Suite("bad input is refused, not crashed on")
struct BadInputTests {
    /// The field an `invalidField` error names (nil for any other error).
    func field(of body: () throws -> Void) -> String? {
        do { try body() } catch let BIMTError.invalidField(field, _) { return field } catch { return "other: \(error)" }
        return nil
    }

    @Test("every size field has an upper bound, and products of sizes are checked before they are counted")
    func sizeBounds() throws {
        let charlm = try TrainingConfiguration.preset("charlm")
        var overrides = TrainingConfiguration.Overrides()
        overrides.width = 3_000_000_000
        #expect(field { _ = try charlm.applying(overrides) } == "transformer.width")
        overrides.width = 65536
        overrides.layers = 4000 // each field in range, their product is not
        #expect(field { _ = try charlm.applying(overrides) } == "transformer.width")
        overrides = .init()
        overrides.modulus = Int.max // used to overflow in modulus + 1
        #expect(field { _ = try TrainingConfiguration.preset("modadd-seq").applying(overrides) } == "task.modulus")
        overrides = .init()
        overrides.snapshotBudget = 1e300 // used to trap converting MiB to bytes
        #expect(field { _ = try charlm.applying(overrides) } == "snapshotBudget")
        overrides = .init()
        overrides.widths = [4, 1 << 25, 2]
        #expect(
            field { _ = try TrainingConfiguration.preset("independence").applying(overrides) }
                == "architecture.widths")
        for (keyPath, value, name) in [
            (\TrainingOptions.steps, 1 << 41, "steps"), (\.swapEvery, Int.max, "swapEvery"),
            (\.accumulationSteps, Int.max, "accumulationSteps"),
        ]
            as [(WritableKeyPath<TrainingOptions, Int>, Int, String)]
        {
            var options = charlm.options
            options[keyPath: keyPath] = value
            #expect(field { try options.validate() } == name)
        }
        var convnet = try TrainingConfiguration.preset("convnet")
        if case let .convNet(c, head) = convnet.model {
            var big = c
            big.channels = [1 << 20]
            convnet.model = .convNet(big, head: head)
        }
        #expect(field { try convnet.validate() } == "convolution.channels")
    }

    @Test("a batch whose activations pass SizeLimits.values is refused before the plan counts them")
    func batchProduct() throws {
        var configuration = try TrainingConfiguration.preset("gpt-bench")
        configuration.batchSize = 1 << 29
        let data = try configuration.makeTask()
        #expect(field { _ = try configuration.prepared(for: data, on: Device.cpu()) } == "batchSize")
    }

    /// A small classification table of `rows` training and 8 test examples.
    func writeTable(rows: Int, to url: URL, shift: Float = 0) throws {
        var generator = SeededGenerator(seed: 5)
        func split(_ name: String, _ n: Int) -> [SafeTensors.Tensor] {
            let inputs = generator.uniform(n * 3).map { $0 + shift }
            return [
                .float32("\(name).inputs", shape: [n, 3], inputs),
                .int64("\(name).labels", shape: [n], (0..<n).map { inputs[3 * $0] > 0 ? 1 : 0 }),
            ]
        }
        try SafeTensors.write(split("train", rows) + split("test", 8), metadata: [:], to: url)
    }

    @Test("resuming after the data shrank, grew or changed is refused, naming both", arguments: [40, 80, 64])
    func resumeOnOtherData(newRows: Int) throws {
        let directory = temporaryDirectory("resume-data")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let table = directory.appending(path: "table.safetensors")
        try writeTable(rows: 64, to: table)
        var overrides = TrainingConfiguration.Overrides()
        overrides.dataPath = table.path
        overrides.batchSize = 16
        overrides.steps = 20
        overrides.checkpointEvery = 10
        let configuration = try TrainingConfiguration.preset("independence").applying(overrides)
        let run = directory.appending(path: "run")
        try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: run).run(until: 10)
        // Same rows, other values (newRows 64), or fewer / more rows.
        try writeTable(rows: newRows, to: table, shift: newRows == 64 ? 0.5 : 0)
        do {
            _ = try Trainer.resume(directory: run, device: Device.cpu())
            Issue.record("resume accepted changed data (\(newRows) rows)")
        } catch let BIMTError.invalidFile(_, reason) {
            #expect(reason.contains("64 training") && reason.contains("\(newRows) training"), "\(reason)")
        }
        // The original data resume.
        try writeTable(rows: 64, to: table)
        #expect(try Trainer.resume(directory: run, device: Device.cpu()).step == 10)
    }

    @Test("a checkpoint's sampler, step and permutations are checked before they are used")
    func corruptCheckpointMetadata() throws {
        let directory = temporaryDirectory("corrupt-metadata")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = try smallConfiguration(steps: 20, batchSize: 32)
        configuration.checkpointEvery = 10
        try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory).run(until: 10)
        let url = directory.appending(path: Trainer.checkpointName)
        let good = try SafeTensors(contentsOf: url)
        let tensors = good.storedTensors
        func resume(with changes: [String: String]) throws -> String? {
            try SafeTensors.write(tensors, metadata: good.metadata.merging(changes) { $1 }, to: url)
            defer { try? SafeTensors.write(tensors, metadata: good.metadata, to: url) }
            do {
                _ = try Trainer.resume(directory: directory, device: Device.cpu())
            } catch let error as BIMTError {
                return "\(error)"
            }
            return nil
        }
        let sampler = try #require(good.metadata["sampler"])
        // A count of 2^50 used to allocate the epoch's order before anything was checked.
        let huge = sampler.replacingOccurrences(of: "\"count\":", with: "\"count\":1125899906842624,\"was\":")
        #expect(try resume(with: ["sampler": huge])?.contains("training examples") == true)
        let past = sampler.replacingOccurrences(of: "\"position\":", with: "\"position\":100000,\"was\":")
        #expect(try resume(with: ["sampler": past])?.contains("position 100000") == true)
        #expect(try resume(with: ["step": "-3"]) != nil)
        let permutations = try #require(good.metadata["permutations"])
        let layers = try JSONDecoder().decode([[Int]].self, from: Data(permutations.utf8))
        var broken = layers
        broken[1][0] = broken[1][1] // a repeated neuron
        let text = String(decoding: try JSONEncoder().encode(broken), as: UTF8.self)
        #expect(try resume(with: ["permutations": text])?.contains("not a permutation") == true)
        #expect(throws: BIMTError.self) {
            try SafeTensors.write(tensors, metadata: good.metadata.merging(["permutations": text]) { $1 }, to: url)
            _ = try TrainedModel.load(checkpoint: url, device: Device.cpu())
        }
        try SafeTensors.write(tensors, metadata: good.metadata, to: url)
        #expect(try Trainer.resume(directory: directory, device: Device.cpu()).step == 10)
    }

    @Test("meta.json naming two tokens alike is refused before training")
    func duplicateTokenNames() throws {
        let folder = temporaryDirectory("duplicate-itos")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let meta: [String: Any] = ["vocab_size": 3, "itos": ["a", "b", "a"]]
        try JSONSerialization.data(withJSONObject: meta).write(to: folder.appending(path: "meta.json"))
        do {
            _ = try TokenFiles.meta(folder: folder.path, vocabulary: nil)
            Issue.record("duplicate names accepted")
        } catch let BIMTError.invalidFile(_, reason) {
            #expect(reason.contains("ids 0 and 2"))
        }
    }

    @Test("an int64 label beyond any class count is refused, not overflowed")
    func hugeLabel() throws {
        let url = temporaryDirectory("huge-label").appendingPathExtension("safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let tensors: [SafeTensors.Tensor] = ["train", "test"].flatMap { name in
            [.float32("\(name).inputs", shape: [2, 1], [0, 1]), .int64("\(name).labels", shape: [2], [0, Int.max])]
        }
        try SafeTensors.write(tensors, metadata: [:], to: url)
        #expect(throws: BIMTError.self) { _ = try UserData.load(path: url.path) }
    }

    @Test("the linear assignment solver refuses NaN, infinite and misshapen costs instead of looping")
    func assignmentRefusesBadCosts() throws {
        for bad in [Double.nan, .infinity, -.infinity] {
            #expect(throws: BIMTError.self) { _ = try LinearAssignment.solve(costs: [0, 1, bad, 2], size: 2) }
        }
        #expect(throws: BIMTError.self) { _ = try LinearAssignment.solve(costs: [0, 1, 2], size: 2) }
        #expect(try LinearAssignment.solve(costs: [5, 1, 1, 5], size: 2) == [1, 0])
    }

    @Test("a snapshot frame with corrupt counts, scales or indices is skipped, never drawn or allocated from")
    func corruptSnapshotFrames() throws {
        let directory = temporaryDirectory("corrupt-frames")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(
            configuration: try smallConfiguration(steps: 300), device: Device.cpu(),
            runDirectory: directory)
        try trainer.run()
        let files = Snapshots.frameFiles(directory.appending(path: "snapshots"))
        #expect(files.count >= 5)
        let network = trainer.model.network
        // Offsets in a frame: magic, step, flag, then the matrix count; each matrix is its count,
        // its scale and its weights; then the inputs' order (count, entries).
        let matrixCount = 17, firstScale = 25
        let inputOrder = 21 + network.connections.reduce(0) { $0 + 8 + $1.weight.count }
        func put(_ value: UInt32, at offset: Int, in file: URL) throws {
            var data = try Data(contentsOf: file)
            withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<(offset + 4), with: $0) }
            try data.write(to: file)
        }
        try put(7, at: matrixCount, in: files[0])
        try put(Float.nan.bitPattern, at: firstScale, in: files[1])
        try put(0xFFFF_FFFF, at: inputOrder, in: files[2]) // used to reserve 32 GiB
        try put(999, at: inputOrder + 4, in: files[3]) // used to index past the names
        let (frames, problems) = Snapshots.read(runDirectory: directory, network: network)
        #expect(frames.count == files.count - 4 && problems.count == 4, "\(problems)")
        #expect(problems.allSatisfy { $0.contains("skipped") })
        let drawn = try RunViewer.drawings(runDirectory: directory)
        #expect(drawn.frames.count == files.count - 4 && drawn.problems.count == 4)
        // Any single corrupt byte of a good frame: read or skipped, never a crash.
        let good = try Data(contentsOf: files[4])
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<300 {
            var data = good
            data[Int.random(in: 0..<data.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            _ = try? Snapshots.frame(data, network: network)
            _ = try? Snapshots.frame(data)
        }
    }
}
