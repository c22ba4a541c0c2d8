import BIMT
import BIMTCompute
import Foundation
import Testing

/// nanoGPT's token files and random-offset windows.
@Suite("Token files") struct TokenDataTests {
    /// A folder with train.bin / val.bin of `ids` (uint16 little-endian) and, if given, meta.json.
    static func folder(train: [UInt16], val: [UInt16], meta: [String: Any]?) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appending(path: "bimt-tokens-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, ids) in [("train.bin", train), ("val.bin", val)] {
            var bytes = Data()
            for id in ids { bytes.append(UInt8(id & 0xFF)); bytes.append(UInt8(id >> 8)) }
            try bytes.write(to: folder.appending(path: name))
        }
        if let meta { try JSONSerialization.data(withJSONObject: meta).write(to: folder.appending(path: "meta.json")) }
        return folder
    }

    /// "abcd...": a cycle of `period` tokens, repeated.
    static func cycle(_ count: Int, period: Int) -> [UInt16] { (0..<count).map { UInt16($0 % period) } }

    static func configuration(_ folder: URL, steps: Int = 60) throws -> TrainingConfiguration {
        var configuration = try TrainingConfiguration.preset("charlm")
        configuration.task = .tokenFiles(folder: folder.path, vocabulary: nil)
        configuration.model = .transformer(
            TransformerArchitecture(layers: 1, width: 16, heads: 2, context: 8, vocabulary: 65, outputs: 65))
        configuration.steps = steps
        configuration.batchSize = 8
        configuration.learningRate = 1e-2
        configuration.learningRateSchedule = LearningRateSchedule(warmupSteps: 5, minimumLearningRate: 1e-3)
        configuration.evalBatches = 4
        configuration.logEvery = 20
        configuration.checkpointEvery = 30
        configuration.swapEvery = 20
        return configuration
    }

    @Test(
        """
        a model trains on mapped token files, keeps its best checkpoint, resumes bit for bit and samples with \
        meta.json's names
        """
    )
    func trainResumeSample() throws {
        let letters = (0..<7).map { String(UnicodeScalar(UInt8(97 + $0))) }
        let folder = try Self.folder(
            train: Self.cycle(3000, period: 7), val: Self.cycle(500, period: 7),
            meta: ["vocab_size": 7, "itos": letters])
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = try Self.configuration(folder)
        let full = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil)
        #expect(full.configuration?.model.transformerArchitecture?.vocabulary == 7) // from meta.json
        let reference = try #require(try full.run())
        #expect(reference.testLoss < 0.5, "a cycle of 7 is easy: \(reference.testLoss)")

        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-tokens-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var stopAt = 30
        let first = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: directory)
        _ = try first.run(shouldStop: {
            stopAt -= 1; return stopAt < 0
        })
        let resumed = try Trainer.resume(directory: directory, device: Device.cpu())
        let final = try resumed.run()
        #expect(final?.testLoss == reference.testLoss && final?.trainLoss == reference.trainLoss)
        #expect(FileManager.default.fileExists(atPath: directory.appending(path: Trainer.bestCheckpointName).path))
        let best = try SafeTensors(contentsOf: directory.appending(path: Trainer.bestCheckpointName))
        let bestLoss = try #require(best.metadata["best_test_loss"].flatMap(Double.init))
        let logged = try String(contentsOf: directory.appending(path: "metrics.csv"), encoding: .utf8).split(
            separator: "\n"
        ).dropFirst()
            .map { Double($0.split(separator: ",")[2])! }
        #expect(abs(bestLoss - logged.min()!) <= 1e-8 * bestLoss) // metrics.csv holds 9 digits

        let generator = try TextGenerator(
            checkpoint: directory.appending(path: Trainer.checkpointName), device: Device.cpu())
        let text = try generator.generate(prompt: "abc", length: 11, temperature: 0.1)
        #expect(text == "abcdefgabcdefg", "\(text)")
    }

    @Test("windows come at random offsets, drawn from the seed alone; evaluation windows are fixed")
    func windows() throws {
        var a = WindowSampler(count: 1000, seed: 3), b = WindowSampler(count: 1000, seed: 3)
        let first = a.next(5) + a.next(5)
        #expect(first == b.next(10) && Set(first).count > 5 && first.allSatisfy { (0..<1000).contains($0) })
        let tokens = TokenSequence([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], source: "digits")
        let data = try Dataset(windowsOf: tokens, context: 4, vocabulary: 10)
        #expect(data.count == 6)
        let (inputs, labels) = data.windowBatch(at: [0, 5])
        #expect(inputs == [0, 1, 2, 3, 5, 6, 7, 8] && labels == [1, 2, 3, 4, 6, 7, 8, 9], "\(inputs) \(labels)")
        #expect(try data.materialized(at: [2]).targets == .classification(labels: [3, 4, 5, 6], classes: 10))
    }

    @Test(
        "bad token files are refused before training: odd length, ids out of vocabulary, too short, no vocabulary size"
    )
    func badFiles() throws {
        let good = Self.cycle(200, period: 5)
        func refusal(_ make: () throws -> URL, vocabulary: Int? = nil) throws -> String {
            let folder = try make()
            defer { try? FileManager.default.removeItem(at: folder) }
            var configuration = try Self.configuration(folder)
            configuration.task = .tokenFiles(folder: folder.path, vocabulary: vocabulary)
            do { _ = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: nil) } catch {
                return "\(error)"
            }
            return "accepted"
        }
        let odd = try refusal {
            let folder = try Self.folder(train: good, val: good, meta: ["vocab_size": 5])
            try Data([1, 0, 2]).write(to: folder.appending(path: "val.bin"))
            return folder
        }
        #expect(odd.contains("odd length"), "\(odd)")
        let beyond = try refusal { try Self.folder(train: good + [9], val: good, meta: ["vocab_size": 5]) }
        #expect(beyond.contains("token id 9, at or above the vocabulary size 5"), "\(beyond)")
        let short = try refusal { try Self.folder(train: good, val: [1, 2, 3], meta: ["vocab_size": 5]) }
        #expect(short.contains("holds 3 tokens; a window of context 8 needs at least 9"), "\(short)")
        let noSize = try refusal { try Self.folder(train: good, val: good, meta: nil) }
        #expect(noSize.contains("task.vocabulary"), "\(noSize)")
        #expect(try refusal({ try Self.folder(train: good, val: good, meta: nil) }, vocabulary: 5) == "accepted")
    }
}
