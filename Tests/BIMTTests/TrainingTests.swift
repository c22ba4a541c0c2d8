@testable import BIMT
import BIMTCompute
import Foundation
import Testing

func temporaryDirectory(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appending(path: "bimt-\(name)-\(UUID().uuidString)")
}

/// A small, fast configuration of the independence preset.
func smallConfiguration(steps: Int = 400, batchSize: Int? = nil) throws -> TrainingConfiguration {
    var configuration = try TrainingConfiguration.preset("independence")
    configuration.steps = steps
    configuration.swapEvery = 50
    configuration.logEvery = 100
    configuration.checkpointEvery = 100
    configuration.batchSize = batchSize
    return configuration
}

@Suite("MLP and trainer")
struct TrainingTests {
    @Test(
        "MLP gradients match finite differences of a double-precision forward pass",
        arguments: [(Activation.silu, false), (.tanh, false), (.gelu, true)])
    func gradients(activation: Activation, embedded: Bool) throws {
        let architecture =
            embedded
            ? MLPArchitecture(
                widths: [6, 5, 4], activation: activation,
                embedding: EmbeddingSpec(vocabulary: 7, dimension: 3, folds: 2))
            : MLPArchitecture(widths: [3, 6, 5, 2], activation: activation)
        let device = Device.cpu()
        let model = try MLP(architecture: architecture, costSettings: CostSettings(), device: device)
        try model.initialize(seed: 3)
        var generator = SeededGenerator(seed: 9)
        let rows = 4
        let input: [Float] =
            embedded
            ? (0..<(rows * 2)).map { _ in Float(Int.random(in: 0..<7, using: &generator)) }
            : generator.uniform(rows * 3)
        let target = generator.uniform(rows * architecture.widths.last!)
        let parameters = try device.read(model.parameters.whole)

        // Double-precision forward + MSE on the host.
        func loss(_ p: [Float]) -> Double {
            func f(_ x: Double) -> Double {
                switch activation {
                case .relu: return max(x, 0)
                case .silu: return x / (1 + exp(-x))
                case .tanh: return tanh(x)
                case .gelu: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
                }
            }
            var total = 0.0
            for r in 0..<rows {
                var x: [Double]
                if embedded {
                    let table = model.network.embeddingTables[0]
                    x = (0..<2).flatMap { t in
                        (0..<3).map { c in Double(p[table.offset + Int(input[r * 2 + t]) * 3 + c]) }
                    }
                } else {
                    x = (0..<3).map { Double(input[r * 3 + $0]) }
                }
                for (l, c) in model.network.connections.enumerated() {
                    var y = [Double](repeating: 0, count: c.weight.rows)
                    for i in 0..<c.weight.rows {
                        var s = Double(p[c.bias!.offset + i])
                        for j in 0..<c.weight.columns {
                            s += Double(p[c.weight.offset + i * c.weight.columns + j]) * x[j]
                        }
                        y[i] = l == model.network.connections.count - 1 ? s : f(s)
                    }
                    x = y
                }
                for (i, value) in x.enumerated() { total += pow(value - Double(target[r * x.count + i]), 2) }
            }
            return total / Double(rows * architecture.widths.last!)
        }
        let inputBuffer = try device.makeBuffer(input), targetBuffer = try device.makeBuffer(target)
        try device.fill(model.gradients.whole, value: 0)
        let output = try model.forward(input: inputBuffer.whole, rows: rows)
        let dOutput = try device.makeBuffer(count: output.count), lossValue = try device.makeBuffer([0])
        try device.mseLoss(
            output: output, target: targetBuffer.whole, outputGradient: dOutput.whole, loss: lossValue.whole)
        expectClose(Double(try device.read(lossValue.whole)[0]), loss(parameters), relative: 1e-5, "loss")
        try model.backward(input: inputBuffer.whole, rows: rows, outputGradient: dOutput.whole)
        let gradient = try device.read(model.gradients.whole)
        for i in parameters.indices {
            var plus = parameters, minus = parameters
            plus[i] += 1e-3
            minus[i] -= 1e-3
            let numeric = (loss(plus) - loss(minus)) / (Double(plus[i]) - Double(minus[i]))
            #expect(
                abs(Double(gradient[i]) - numeric) <= 1e-4 + 1e-3 * abs(numeric),
                "\(activation) parameter \(i): backward \(gradient[i]), finite difference \(numeric)")
        }
    }

    @Test("a resumed run ends bit-identical to an uninterrupted one on the CPU path", arguments: [nil, 32] as [Int?])
    func resumeIsBitIdentical(batchSize: Int?) throws {
        let configuration = try smallConfiguration(steps: 400, batchSize: batchSize)
        let whole = temporaryDirectory("whole"), split = temporaryDirectory("split")
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: split) }
        let uninterrupted = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: whole)
        try uninterrupted.run()
        let first = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: split)
        try first.run(until: 200) // stops right after the step-200 checkpoint (and a relocation at 200)
        let resumed = try Trainer.resume(directory: split, device: Device.cpu())
        #expect(resumed.step == 200)
        try resumed.run()
        let a = try Data(contentsOf: whole.appending(path: Trainer.checkpointName))
        let b = try SafeTensors(contentsOf: split.appending(path: Trainer.checkpointName))
        let reference = try SafeTensors(bytes: a)
        for name in reference.tensors.keys where reference.tensors[name]?.dtype == .f32 {
            #expect(try reference.floats(name).values == b.floats(name).values, "\(name) differs after resume")
        }
        #expect(try reference.integers("in_perm").values == b.integers("in_perm").values)
        let metrics = try String(contentsOf: split.appending(path: "metrics.csv"), encoding: .utf8)
        #expect(metrics.split(separator: "\n").count == 5, "header + 4 log rows expected:\n\(metrics)")
    }

    @Test("a checkpoint reloads to the same test loss; relocation keeps data aligned")
    func checkpointRoundTrip() throws {
        let directory = temporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(
            configuration: try smallConfiguration(steps: 300), device: Device.cpu(), runDirectory: directory)
        let before = try trainer.evaluate().loss
        try trainer.relocate() // moves data with any input/output swap
        expectClose(try trainer.evaluate().loss, before, relative: 1e-5, "test loss across a relocation")
        try trainer.run()
        let loaded = try Trainer.load(
            checkpoint: directory.appending(path: Trainer.checkpointName), device: Device.cpu())
        #expect(loaded.model.network.permutations == trainer.model.network.permutations)
        let metadata = try SafeTensors(contentsOf: directory.appending(path: Trainer.checkpointName)).metadata
        let layouts = try #require(
            try JSONSerialization.jsonObject(with: Data((metadata["layouts"] ?? "").utf8)) as? [[String: Any]])
        #expect(layouts.count == 4 && (layouts[0]["name"] as? String) == "input")
        expectClose(try loaded.evaluate().loss, try trainer.evaluate().loss, relative: 1e-6, "reloaded test loss")
    }

    @Test("--init loads weights and rejects shapes that do not match")
    func initFromWeights() throws {
        let directory = temporaryDirectory("init")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let source = try Trainer(
            configuration: try smallConfiguration(steps: 100), device: Device.cpu(), runDirectory: nil)
        let file = directory.appending(path: "weights.safetensors")
        try source.saveCheckpoint(to: file)
        var other = try smallConfiguration(steps: 100)
        other.seed = 77
        let target = try Trainer(configuration: other, device: Device.cpu(), runDirectory: nil)
        try target.initialize(from: file)
        #expect(
            try target.device.read(target.model.parameters.whole) == source.device.read(source.model.parameters.whole))
        var wide = try smallConfiguration(steps: 100)
        wide.model.denseArchitecture?.widths = [4, 21, 20, 2]
        let mismatched = try Trainer(configuration: wide, device: Device.cpu(), runDirectory: nil)
        do {
            try mismatched.initialize(from: file)
            Issue.record("mismatched shapes loaded")
        } catch let BIMTError.shapeMismatch(text) {
            #expect(text.contains("layers.0.weight") && text.contains("[20, 4]") && text.contains("[21, 4]"))
        }
    }

    @Test("a diverging run stops naming the step and keeps the last good checkpoint")
    func divergenceStops() throws {
        let directory = temporaryDirectory("nan")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = try smallConfiguration(steps: 300)
        configuration.checkpointEvery = 100
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        try trainer.run(until: 100)
        let good = try Data(contentsOf: directory.appending(path: Trainer.checkpointName))
        // Poison one weight: the next log step or checkpoint must refuse to go on.
        try trainer.device.write([.nan], to: trainer.model.parameters.slice(offset: 3, count: 1))
        do {
            try trainer.run()
            Issue.record("a NaN run finished")
        } catch let error as BIMTError {
            let text = error.description
            #expect(text.contains("step") && (text.contains("NaN") || text.contains("nan")), "\(text)")
        }
        #expect(try Data(contentsOf: directory.appending(path: Trainer.checkpointName)) == good)
    }

    @Test(
        "training on OpenCL reaches the CPU path's quality",
        requiresOpenCL)
    func openCLTrains() throws {
        var configuration = try TrainingConfiguration.preset("two-moons")
        configuration.steps = 1000
        configuration.logEvery = 1000
        let cpu = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil).run()
        let opencl = try Trainer(
            configuration: configuration, device: try Device.open(.anyOpenCL).device, runDirectory: nil
        ).run()
        #expect(
            (cpu?.testAccuracy ?? 0) >= 0.95 && (opencl?.testAccuracy ?? 0) >= 0.95,
            "cpu \(String(describing: cpu)), opencl \(String(describing: opencl))")
        expectClose(opencl?.testLoss ?? 0, cpu?.testLoss ?? 1, relative: 0.2, "test loss CPU vs OpenCL")
    }
}

@Suite("Tasks, data and configuration files")
struct DataTests {
    @Test("modular addition and S_n composition have the right labels")
    func tokenTasks() throws {
        let modadd = try Tasks.modularAddition(modulus: 7, seed: 1)
        #expect(modadd.train.count + modadd.test.count == 49)
        if case let .classification(labels, classes) = modadd.train.targets {
            #expect(classes == 7)
            for (i, label) in labels.enumerated() {
                #expect(label == (Int(modadd.train.inputs[2 * i]) + Int(modadd.train.inputs[2 * i + 1])) % 7)
            }
        }
        let s3 = try Tasks.permutationComposition(n: 3, seed: 1)
        #expect(s3.train.count + s3.test.count == 36 && s3.vocabulary == 6)
        // Element 0 is the identity (lexicographic order): 0 o g = g.
        for split in [s3.train, s3.test] {
            guard case let .classification(labels, _) = split.targets else { continue }
            for i in 0..<split.count where split.inputs[2 * i] == 0 {
                #expect(labels[i] == Int(split.inputs[2 * i + 1]))
            }
        }
        #expect(throws: BIMTError.self) { try Tasks.permutationComposition(n: 6, seed: 1) }
        #expect(throws: BIMTError.self) { try Tasks.modularAddition(modulus: 1, seed: 1) }
    }

    @Test("datasets reject bad labels, tokens and shapes")
    func badDatasets() {
        #expect(throws: BIMTError.self) {
            try Dataset(inputs: [1, 2, 3], inputWidth: 2, targets: .regression(values: [1], width: 1))
        }
        #expect(throws: BIMTError.self) {
            try Dataset(inputs: [1, 2], inputWidth: 2, targets: .classification(labels: [3], classes: 3))
        }
        #expect(throws: BIMTError.self) {
            try Dataset(
                inputs: [1, 9], inputWidth: 2, targets: .classification(labels: [0], classes: 3), vocabulary: 5)
        }
        #expect(throws: BIMTError.self) {
            try Dataset(inputs: [.nan, 1], inputWidth: 2, targets: .regression(values: [1], width: 1))
        }
    }

    @Test("safetensors: round trip, and every corruption is a clear error")
    func safetensors() throws {
        let tensors: [SafeTensors.Tensor] = [
            .float32("a", shape: [2, 3], [1, 2, 3, 4, 5, 6]), .int64("b", shape: [3], [7, -1, 2]),
            .float32("one", shape: [1, 1], [5]), .float32("empty", shape: [0, 4], []),
        ]
        let bytes = try SafeTensors.encode(tensors, metadata: ["k": "v"])
        let file = try SafeTensors(bytes: bytes)
        #expect(try file.floats("a").values == [1, 2, 3, 4, 5, 6] && file.floats("a").shape == [2, 3])
        #expect(try file.integers("b").values == [7, -1, 2] && file.metadata["k"] == "v")
        #expect(try file.floats("one").values == [5] && file.floats("empty").shape == [0, 4])
        #expect((8 + Int(bytes[0]) + Int(bytes[1]) << 8) % 8 == 0, "header not padded to 8 bytes")

        func header(_ json: String, data: Int) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(Data(json.utf8))
            d.append(Data(count: data))
            return d
        }
        let corrupt: [(Data, String)] = [
            (Data([1, 2, 3]), "shorter"),
            (bytes.prefix(bytes.count - 4), "data_offsets"),
            (
                header(
                    "{\"x\": {\"dtype\": \"F32\", \"shape\": [1000000000, 1000000000], \"data_offsets\": [0, 8]}}",
                    data: 8), "larger than the file"
            ),
            (
                header(
                    "{\"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, "
                        + "\"y\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                    data: 12), "overlap"
            ),
            (
                header("{\"x\": {\"dtype\": \"Q7\", \"shape\": [1], \"data_offsets\": [0, 4]}}", data: 4),
                "unsupported dtype"
            ),
            (header("[1, 2]", data: 0), "not a JSON object"),
            (
                header("{\"x\": {\"dtype\": \"F32\", \"shape\": [true], \"data_offsets\": [0, 4]}}", data: 4),
                "bad shape"
            ),
            (
                header("{\"x\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", data: 8),
                "needs 12 bytes"
            ),
            (
                {
                    var d = Data(); withUnsafeBytes(of: UInt64.max.littleEndian) { d.append(contentsOf: $0) }; return d
                }(), "header claims"
            ),
        ]
        for (data, mention) in corrupt {
            do {
                _ = try SafeTensors(bytes: data, path: "bad.safetensors")
                Issue.record("accepted a corrupt file (\(mention))")
            } catch let BIMTError.invalidFile(path, reason) {
                #expect(path == "bad.safetensors" && reason.contains(mention), "\(reason)")
            }
        }
    }

    @Test("config files: any subset of fields applies; unknown fields and wrong types are errors")
    func configFiles() throws {
        let directory = temporaryDirectory("config")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let base = try TrainingConfiguration.preset("independence")
        func apply(_ json: String) throws -> TrainingConfiguration {
            let file = directory.appending(path: "c.json")
            try Data(json.utf8).write(to: file)
            return try ConfigurationFile.apply(path: file.path, over: base)
        }
        let changed = try apply("{\"steps\": 123, \"cost\": {\"l0\": 0.5}, \"batchSize\": 10}")
        #expect(
            changed.steps == 123 && changed.cost.l0 == 0.5 && changed.cost.weightFactor == base.cost.weightFactor
                && changed.batchSize == 10)
        for (json, mention) in [
            ("{\"stepz\": 1}", "stepz"), ("{\"steps\": \"many\"}", "steps"), ("{\"cost\": {\"l1\": 2}}", "cost.l1"),
            ("[]", "JSON object"),
        ] {
            do {
                _ = try apply(json)
                Issue.record("accepted \(json)")
            } catch let BIMTError.invalidFile(_, reason) {
                #expect(reason.contains(mention), "\(reason)")
            }
        }
    }
}
