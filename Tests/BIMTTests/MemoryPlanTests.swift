@testable import BIMT
import BIMTCompute
import Foundation
import Testing

@Suite("memory plan")
struct MemoryPlanTests {
    @Test("a data-parallel run plans one rank's share: its part of the batch's activations and data")
    func perRank() throws {
        var configuration = try TrainingConfiguration.preset("gpt-bench")
        configuration.batchSize = 64
        let data = try configuration.makeTask(), device = Device.cpu()
        let one = try configuration.prepared(for: data, on: device).plan
        let four = try configuration.prepared(for: data, on: device, ranks: 4).plan
        #expect(four.parameters == one.parameters && four.optimizerState == one.optimizerState)
        // Activations scale with the rows a rank's pass takes (its quarter of the batch; the
        // evaluation chunks are as large).
        let ratio = Double(four.activations) / Double(one.activations)
        #expect(ratio > 0.2 && ratio < 0.3, "activations \(four.activations) of \(one.activations)")
        #expect(four.data < one.data)
        // A full-batch run's ranks each hold their share of the training split.
        var full = try TrainingConfiguration.preset("independence")
        full.batchSize = nil
        let fullData = try full.makeTask()
        let whole = try full.prepared(for: fullData, on: device).plan,
            half = try full.prepared(for: fullData, on: device, ranks: 2).plan
        let trainValues = fullData.train.count * (fullData.train.inputWidth + fullData.train.outputWidth)
        #expect(whole.data - half.data == trainValues / 2)
    }
}
