import BIMTCompute
import Foundation
import Testing
import TestSupport
@testable import BIMT

/// The pieces of data-parallel training that need no second process: where gradients are
/// final during a backward pass, each rank's share of the data, and what refuses to split.
@Suite("data-parallel pieces")
struct DataParallelTests {
    /// Runs `model`'s backward pass, keeping the gradient at each point it reports; every
    /// reported suffix must equal the final gradient there (nothing writes it afterwards).
    func checkReportedGradients(_ model: any TrainableModel, input: BufferSlice, rows: Int) throws {
        let device = model.device
        var generator = SeededGenerator(seed: 3)
        try device.write(generator.uniform(model.parameterCount, -0.5, 0.5), to: model.parameters.whole)
        let output = try model.forward(input: input, rows: rows)
        let outputGradient = try device.makeBuffer(generator.uniform(output.count, -1, 1))
        try device.fill(model.gradients.whole, value: 0)
        var reports: [(offset: Int, gradient: [Float])] = []
        try model.backward(input: input, rows: rows, outputGradient: outputGradient.whole) { offset in
            reports.append((offset, try device.read(model.gradients.whole)))
        }
        let final = try device.read(model.gradients.whole)
        #expect(reports.count >= 2, "the pass reports its progress more than once")
        #expect(reports.map(\.offset) == reports.map(\.offset).sorted(by: >), "the reported offsets only go down")
        #expect(reports.last?.offset == 0)
        for (offset, gradient) in reports {
            let changed = (offset..<final.count).first { gradient[$0] != final[$0] }
            #expect(changed == nil, "reported final from \(offset), but element \(changed ?? -1) changed afterwards")
            // The reports are not empty claims: something in the suffix is non-zero.
            #expect(offset == final.count || final[offset...].contains { $0 != 0 })
        }
    }

    @Test(
        "an MLP's backward pass reports gradients final only once nothing writes them again",
        arguments: TestDevices.names)
    func mlpReports(device name: String) throws {
        let device = try TestDevices.named(name)
        for architecture in [
            MLPArchitecture(widths: [5, 12, 9, 3]),
            MLPArchitecture(widths: [8, 10, 4], embedding: EmbeddingSpec(vocabulary: 6, dimension: 4, folds: 2)),
        ] {
            let model = try MLP(architecture: architecture, costSettings: CostSettings(), device: device)
            var generator = SeededGenerator(seed: 8)
            let rows = 7
            let input =
                architecture.embedding == nil
                ? generator.uniform(rows * 5, -1, 1) : (0..<(rows * 2)).map { Float($0 % 6) }
            try checkReportedGradients(model, input: try device.makeBuffer(input).whole, rows: rows)
        }
    }

    @Test(
        "a transformer's backward pass reports the head, each block, then the embeddings", arguments: TestDevices.names)
    func gptReports(device name: String) throws {
        let device = try TestDevices.named(name)
        for (layerNorm, positions) in [(true, true), (false, false)] {
            let a = TransformerArchitecture(
                layers: 3, width: 8, heads: 2, context: 6, vocabulary: 7, outputs: 7,
                layerNorm: layerNorm, positionalEmbedding: positions)
            let model = try GPT(architecture: a, costSettings: CostSettings(), device: device)
            let rows = 3
            try checkReportedGradients(
                model, input: try device.makeBuffer((0..<(rows * 6)).map { Float($0 % 7) }).whole, rows: rows)
            #expect(model.views.readyAfterBlock.count == 3)
        }
    }

    @Test("watermarks: a stage counts only once everything above it is done")
    func watermarks() {
        // Buffer of 10: [0,2) embedding, [2,6) layer 1, [6,10) layer 2; a pass finishing layer 2, then
        // layer 1, then the embedding.
        #expect(GradientWatermark.offsets(total: 10, stages: [[6..<10], [2..<4, 4..<6], [0..<2]]) == [6, 2, 0])
        // A tensor the pass finishes only at its end (here [8,10), tied to the input) holds everything back.
        #expect(GradientWatermark.offsets(total: 10, stages: [[4..<8], [0..<4]]) == [10, 10])
        #expect(GradientWatermark.offsets(total: 10, stages: [[4..<8], [0..<4], [8..<10]]) == [10, 10, 0])
    }

    @Test("shares split a count into contiguous, near-equal ranges that cover it once")
    func shares() {
        final class Fake: ProcessGroup {
            let rank: Int, size: Int
            init(_ rank: Int, _ size: Int) { (self.rank, self.size) = (rank, size) }
            var localRank: Int { rank }
            var localSize: Int { size }
            var hostName: String { "test" }
            func sum(_ values: [Double], _ what: String) throws -> [Double] { values }
            func allGather(_ bytes: [UInt8], _ what: String) throws -> [[UInt8]] { [bytes] }
            func broadcast(_ bytes: [UInt8], root: Int, _ what: String) throws -> [UInt8] { bytes }
            func startSum(_ values: UnsafeMutableBufferPointer<Float>, _ what: String) throws -> PendingSum {
                PendingSum(id: 0, count: 0)
            }
            func wait(_ pending: PendingSum) throws {}
            func noteStep(_ step: Int) {}
        }
        for (count, size) in [(10, 3), (64, 2), (5, 8), (0, 2)] {
            let ranges = (0..<size).map { Fake($0, size).share(of: count) }
            #expect(ranges.flatMap { Array($0) } == Array(0..<count))
            #expect(ranges.map(\.count).max()! - ranges.map(\.count).min()! <= 1)
        }
    }

    /// A group of two ranks with the same gradient: a sum doubles the values (so the mean is
    /// the gradient itself), and the buckets' sums are recorded in the order they start.
    final class Mirror: ProcessGroup {
        var started: [String] = []
        var rank: Int { 0 }
        var size: Int { 2 }
        var localRank: Int { 0 }
        var localSize: Int { 2 }
        var hostName: String { "test" }
        func sum(_ values: [Double], _ what: String) throws -> [Double] { values.map { 2 * $0 } }
        func allGather(_ bytes: [UInt8], _ what: String) throws -> [[UInt8]] { [bytes, bytes] }
        func broadcast(_ bytes: [UInt8], root: Int, _ what: String) throws -> [UInt8] { bytes }
        func startSum(_ values: UnsafeMutableBufferPointer<Float>, _ what: String) throws -> PendingSum {
            started.append(what)
            for i in values.indices { values[i] *= 2 }
            return PendingSum(id: started.count, count: values.count)
        }
        func wait(_ pending: PendingSum) throws {}
        func noteStep(_ step: Int) {}
    }

    /// On OpenCL a bucket is read without waiting and its sum starts once the read has
    /// arrived: the sums must still start in bucket order, see the bucket's final values, and
    /// leave the mean in the buffer.
    @Test("the gradient exchange sums every bucket in order and leaves the mean", arguments: TestDevices.names)
    func exchange(device name: String) throws {
        let device = try TestDevices.named(name)
        var generator = SeededGenerator(seed: 8)
        let values = generator.uniform(100_000)
        let gradients = try device.makeBuffer(values), group = Mirror()
        let exchange = try GradientExchange(group: group, device: device, gradients: gradients, bucketElements: 30_000)
        // The last buckets become final first (as a backward pass makes them), each after the work
        // that finishes it (doubling the part that became final) is queued, and nothing writes a
        // final part again: a read that ran ahead of that work would leave a bucket undoubled.
        let offsets = [70_000, 40_000, 10_000]
        let expected = values.indices.map { i in i >= 10_000 ? 2 * values[i] : values[i] }
        for step in 0..<2 {
            try device.write(values, to: gradients.whole)
            group.started = []
            exchange.begin()
            var end = 100_000
            for offset in offsets {
                try device.scale(gradients.slice(offset: offset, count: end - offset), by: 2)
                try exchange.ready(from: offset)
                end = offset
            }
            try exchange.finish()
            #expect(group.started == (1...4).map { "the gradient sum (bucket \($0) of 4)" }, "step \(step)")
            // The mean of two equal gradients is the gradient, written back into the buffer.
            #expect(try device.read(gradients.whole) == expected, "step \(step)")
        }
    }

    @Test("a dataset's rows keep their targets, for regression and for several targets per example")
    func datasetRows() throws {
        let inputs: [Float] = (0..<12).map(Float.init) // 6 examples of 2
        let regression = try Dataset(
            inputs: inputs, inputWidth: 2, targets: .regression(values: (0..<12).map { Float($0) * 10 }, width: 1),
            targetsPerExample: 2)
        let part = try regression.rows(2..<4)
        #expect(part.inputs == [4, 5, 6, 7])
        #expect(part.targets == .regression(values: [40, 50, 60, 70], width: 1))
        let labels = try Dataset(
            inputs: inputs, inputWidth: 2, targets: .classification(labels: [0, 1, 2, 0, 1, 2], classes: 3))
        #expect(try labels.rows(3..<6).targets == .classification(labels: [0, 1, 2], classes: 3))
        #expect(try labels.rows(0..<6) == labels)
    }

    @Test("batches that do not split over the ranks are refused, naming the field and a size that works")
    func uneven() throws {
        var options = TrainingOptions(loss: .crossEntropy, steps: 10, learningRate: 0.01, lambda: 0)
        options.batchSize = 63
        #expect(throws: BIMTError.self) { try options.checkSplit(over: 2, trainingExamples: 1000, windowed: false) }
        try options.checkSplit(over: 3, trainingExamples: 1000, windowed: false)
        options.batchSize = 64
        options.accumulationSteps = 4
        try options.checkSplit(over: 2, trainingExamples: 1000, windowed: false)
        #expect(throws: BIMTError.self) { try options.checkSplit(over: 32, trainingExamples: 1000, windowed: false) }
        do {
            try options.checkSplit(over: 3, trainingExamples: 1000, windowed: true)
            Issue.record("64 over 3 ranks x 4 micro-batches was accepted")
        } catch let BIMTError.invalidField(field, reason) {
            #expect(field == "batchSize" && reason.contains("use a multiple of 12 (e.g. 60)"), "\(reason)")
        }
        // Full batch: the examples themselves must split.
        options.batchSize = nil
        options.accumulationSteps = 1
        #expect(throws: BIMTError.self) { try options.checkSplit(over: 3, trainingExamples: 1000, windowed: false) }
        try options.checkSplit(over: 4, trainingExamples: 1000, windowed: false)
    }
}
