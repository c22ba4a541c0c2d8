import BIMTCompute
import Foundation

/// One connected component of the pruned network.
public struct ModuleReport: Sendable, Codable, Equatable {
    public var inputs: [String]
    public var outputs: [String]
    /// Hidden neurons of the module, per hidden layer.
    public var hiddenNeurons: [Int]
}

/// `bimt analyze`: what is left after pruning weights below threshold x max|w| per matrix.
public struct AnalysisReport: Sendable, Codable {
    public var threshold: Float
    public var modules: [ModuleReport]
    public var wiringCost: Double
    public var wiringCostAfterPruning: Double
    public var fractionKept: Double
    public var lossBefore: Double
    public var lossAfter: Double
    public var accuracyBefore: Double?
    public var accuracyAfter: Double?

    enum CodingKeys: String, CodingKey {
        case threshold, modules
        case wiringCost = "wiring_cost"
        case wiringCostAfterPruning = "wiring_cost_after_pruning"
        case fractionKept = "fraction_kept"
        case lossBefore = "test_loss_before"
        case lossAfter = "test_loss_after"
        case accuracyBefore = "test_accuracy_before"
        case accuracyAfter = "test_accuracy_after"
    }
}

public enum Analysis {
    /// The default pruning threshold, relative to each matrix's largest |w|.
    public static let defaultThreshold: Float = 0.1

    /// Prunes the trainer's model in place (on its device) and reports modules, wiring
    /// cost, the fraction of weights kept and the test loss before and after.
    public static func analyze(_ trainer: Trainer, threshold: Float = defaultThreshold) throws -> AnalysisReport {
        guard threshold >= 0, threshold <= 1 else { throw BIMTError.invalidSetting("the threshold must lie in [0, 1], got \(threshold)") }
        let model = trainer.model, network = model.network
        var settings = trainer.configuration.cost
        settings.penalizeBiases = false
        let (lossBefore, accuracyBefore) = try trainer.evaluate()
        var values = try trainer.device.read(model.parameters.whole)
        let costBefore = NaiveRelocation.cost(network: network, settings: settings, parameters: values)
        var kept = 0, total = 0
        for c in network.connections {
            let range = c.weight.offset..<(c.weight.offset + c.weight.count)
            let largest = values[range].map(abs).max() ?? 0
            for i in range {
                if abs(values[i]) < threshold * largest { values[i] = 0 } else { kept += 1 }
            }
            total += c.weight.count
        }
        try trainer.device.write(values, to: model.parameters.whole)
        let (lossAfter, accuracyAfter) = try trainer.evaluate()
        let costAfter = NaiveRelocation.cost(network: network, settings: settings, parameters: values)
        return AnalysisReport(threshold: threshold, modules: modules(trainer, values), wiringCost: costBefore,
                              wiringCostAfterPruning: costAfter, fractionKept: Double(kept) / Double(max(1, total)),
                              lossBefore: lossBefore, lossAfter: lossAfter, accuracyBefore: accuracyBefore,
                              accuracyAfter: accuracyAfter)
    }

    /// Connected components over the non-zero weights, keeping those that join at least
    /// one input to at least one output.
    static func modules(_ trainer: Trainer, _ values: [Float]) -> [ModuleReport] {
        let network = trainer.model.network
        let offsets = network.layers.reduce(into: [0]) { $0.append($0.last! + $1.layout.neuronCount) }
        var parent = Array(0..<offsets.last!)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for c in network.connections {
            for i in 0..<c.weight.rows {
                for j in 0..<c.weight.columns where values[c.weight.offset + i * c.weight.columns + j] != 0 {
                    let a = find(offsets[c.output] + i), b = find(offsets[c.input] + j)
                    if a != b { parent[a] = b }
                }
            }
        }
        let last = network.layers.count - 1
        let inputNames = trainer.inputNeuronNames, outputNames = trainer.outputNeuronNames
        var groups: [Int: ModuleReport] = [:]
        for layer in 0...last {
            for j in 0..<network.layers[layer].layout.neuronCount {
                let root = find(offsets[layer] + j)
                var module = groups[root] ?? ModuleReport(inputs: [], outputs: [], hiddenNeurons: [Int](repeating: 0, count: max(0, last - 1)))
                if layer == 0 { module.inputs.append(inputNames[j]) }
                else if layer == last { module.outputs.append(outputNames[j]) }
                else { module.hiddenNeurons[layer - 1] += 1 }
                groups[root] = module
            }
        }
        return groups.values.filter { !$0.inputs.isEmpty && !$0.outputs.isEmpty }
            .map { ModuleReport(inputs: $0.inputs.sorted(), outputs: $0.outputs.sorted(), hiddenNeurons: $0.hiddenNeurons) }
            .sorted { $0.outputs.lexicographicallyPrecedes($1.outputs) }
    }
}
