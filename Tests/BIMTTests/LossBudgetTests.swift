@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// `bimt analyze --loss-budget`: the bisection over the pruning threshold against an
/// exhaustive scan, and what it refuses.
@Suite("pruning at a loss budget")
struct LossBudgetTests {
    /// The `independence` MLP after a short run, and its weights.
    static func trained() throws -> (Trainer, [Float]) {
        var c = try TrainingConfiguration.preset("independence")
        c.steps = 400
        let trainer = try Trainer(configuration: c, device: Device.cpu(), runDirectory: nil)
        try trainer.run()
        return (trainer, try trainer.device.read(trainer.model.parameters.whole))
    }

    /// The evaluation loss after pruning `weights` at `threshold` (the weights are put back after).
    static func loss(_ trainer: Trainer, _ weights: [Float], threshold: Float) throws -> Double {
        var values = weights
        _ = Analysis.prune(&values, network: trainer.model.network, threshold: threshold, convolutions: 0)
        try trainer.device.write(values, to: trainer.model.parameters.whole)
        defer { try? trainer.device.write(weights, to: trainer.model.parameters.whole) }
        return try trainer.evaluateWithLast().loss
    }

    @Test("the bisection finds the threshold an exhaustive scan finds, within the scan's step")
    func againstScan() throws {
        let (trainer, weights) = try Self.trained()
        let base = try trainer.evaluateWithLast().loss
        let scan = try (0...100).map { try Self.loss(trainer, weights, threshold: Float($0) / 100) }
        // A budget the pruning crosses inside the scan: the loss rise at threshold 0.3.
        let budget = scan[30] - base
        #expect(budget > 0, "pruning at 0.3 changes nothing: no test")
        // The scan's answer: the last threshold before the first one over budget.
        let firstOver = try #require(scan.firstIndex { $0 > base + budget })
        let report = try Analysis.analyze(trainer, lossBudget: budget)
        #expect(report.threshold >= Float(firstOver - 1) / 100, "\(report.threshold) below the scan's \(firstOver - 1)")
        #expect(report.threshold < Float(firstOver) / 100, "\(report.threshold) at or past the first over budget")
        #expect(report.lossAfter <= base + budget, "\(report.lossAfter) over \(base) + \(budget)")
        #expect(report.lossBefore == base && report.lossBudget == budget)
        #expect((report.searchEvaluations ?? 0) >= 20)
        // Every evaluation the search makes is counted, and none is made twice: the report's
        // before and after are the search's own.
        try trainer.device.write(weights, to: trainer.model.parameters.whole)
        var calls = 0
        let counted = try Analysis.analyze(
            model: trainer.model, names: trainer.neuronNames, lossBudget: budget,
            evaluate: {
                calls += 1
                return try trainer.evaluateWithLast()
            })
        #expect(calls == counted.searchEvaluations && counted.threshold == report.threshold, "\(calls) evaluations")
        // What it reports is the pruning at that threshold; the model is left pruned, as analyze leaves it.
        #expect(abs(report.lossAfter - (try Self.loss(trainer, weights, threshold: report.threshold))) < 1e-9)
        #expect(report.familiesKept == ["mlp": report.fractionKept])
    }

    @Test("a budget any pruning meets prunes at threshold 1; a negative or non-finite budget is refused")
    func edges() throws {
        let (trainer, _) = try Self.trained()
        #expect(try Analysis.analyze(trainer, lossBudget: 1e9).threshold == 1)
        for bad in [-0.01, .nan, .infinity] {
            #expect(throws: BIMTError.self) { try Analysis.analyze(trainer, lossBudget: bad) }
        }
    }

    @Test("matrices are reported by kind")
    func families() {
        #expect(Analysis.family("blocks.0.attn.qkv", index: 1, convolutions: 0) == "attention")
        #expect(Analysis.family("blocks.3.mlp.proj", index: 9, convolutions: 0) == "mlp")
        #expect(Analysis.family("embed", index: 0, convolutions: 0) == "embeddings")
        #expect(Analysis.family("head", index: 9, convolutions: 0) == "head")
        #expect(Analysis.family("layers.1", index: 1, convolutions: 0) == "mlp")
        #expect(Analysis.family("conv", index: 0, convolutions: 2) == "convolutions")
        #expect(Analysis.family("dense.0", index: 2, convolutions: 2) == "dense")
    }
}
