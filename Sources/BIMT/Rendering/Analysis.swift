import BIMTCompute
import Foundation

/// One connected component of the pruned network.
public struct ModuleReport: Sendable, Codable, Equatable {
    /// Input neurons of the module.
    public var inputs: [String]
    /// Output neurons of the module.
    public var outputs: [String]
    /// Hidden neurons of the module, per hidden layer.
    public var hiddenNeurons: [Int]
}

/// What is left of one transformer block after pruning.
public struct BlockReport: Sendable, Codable, Equatable {
    /// Per head: the fraction of its q/k/v rows' and output-projection columns' weights kept.
    public var headFractionKept: [Double]
    /// Heads that still read the stream (q and k), carry values (v) and write back (proj).
    public var headsAlive: Int
    /// MLP hidden neurons with both an incoming and an outgoing kept weight.
    public var mlpNeuronsAlive: Int
    /// MLP hidden neurons of the block.
    public var mlpNeurons: Int
}

/// `bimt analyze`: what is left after pruning weights below threshold x max|w| per matrix.
public struct AnalysisReport: Sendable, Codable {
    /// The pruning threshold relative to each matrix's largest |w|.
    public var threshold: Float
    /// Connected components joining inputs to outputs.
    public var modules: [ModuleReport]
    /// The connection cost of the weights before pruning.
    public var connectionCost: Double
    /// The same after pruning.
    public var connectionCostAfterPruning: Double
    /// The fraction of weights kept.
    public var fractionKept: Double
    /// Of the convolution kernels' weights only (nil for an MLP).
    public var convolutionFractionKept: Double?
    /// Test loss before pruning.
    public var lossBefore: Double
    /// Test loss after pruning.
    public var lossAfter: Double
    /// Test accuracy before pruning (classification).
    public var accuracyBefore: Double?
    /// Test accuracy after pruning.
    public var accuracyAfter: Double?
    /// A sequence model predicting several positions with MSE: the test loss at the last one.
    public var lastLossBefore: Double?
    /// The same after pruning.
    public var lastLossAfter: Double?
    /// A transformer's blocks (nil otherwise), and its residual dimensions still touched by a kept weight.
    public var blocks: [BlockReport]?
    /// Residual dimensions touched by a kept weight.
    public var residualDimensionsUsed: Int?
    /// The split the losses and accuracies are of: "validation" for a run that held out
    /// validation examples and was analyzed on them, else "test" (nil: test).
    public var evaluatedOn: String?
    /// The fraction of weights kept per kind of matrix: "attention", "mlp", "embeddings",
    /// "head" (a transformer's), "convolutions", "dense" (a conv net's head).
    public var familiesKept: [String: Double]?
    /// With a loss budget: how much the loss could rise, and the threshold search's evaluations.
    public var lossBudget: Double?
    public var searchEvaluations: Int?
    /// The loss the pruning had to stay within: the loss before pruning plus the budget, or a
    /// reference run's loss plus it (`bimt sweep` uses its no-penalty run's).
    public var lossCeiling: Double?
    /// Modularity and locality of the pruned network against shuffled nulls (when asked for).
    public var modularity: ModularityReport?
    /// A conv net's channels per block, and those still in a module (joined to an input and
    /// an output through kept weights) after pruning; nil otherwise.
    public var channels: [Int]?
    public var channelsConnected: [Int]?

    enum CodingKeys: String, CodingKey {
        case threshold, modules
        case connectionCost = "wiring_cost" // JSON keeps the keys bimt has always written
        case connectionCostAfterPruning = "wiring_cost_after_pruning"
        case fractionKept = "fraction_kept"
        case convolutionFractionKept = "convolution_fraction_kept"
        case lossBefore = "test_loss_before"
        case lossAfter = "test_loss_after"
        case accuracyBefore = "test_accuracy_before"
        case accuracyAfter = "test_accuracy_after"
        case lastLossBefore = "test_last_loss_before"
        case lastLossAfter = "test_last_loss_after"
        case blocks
        case residualDimensionsUsed = "residual_dimensions_used"
        case evaluatedOn = "evaluated_on"
        case familiesKept = "families_kept"
        case lossBudget = "loss_budget"
        case searchEvaluations = "search_evaluations"
        case lossCeiling = "loss_ceiling"
        case modularity, channels
        case channelsConnected = "channels_connected"
    }
}

/// Pruning and module reports (`bimt analyze`).
public enum Analysis {
    /// The default pruning threshold, relative to each matrix's largest |w|.
    /// 0.02: with AdamW and an L1 penalty, penalized weights hover around +-lr instead of
    /// reaching 0; this cuts those and keeps weights that still carry signal (at 0.1 a
    /// conv net lost 6-8 points of accuracy; an MLP's modules are the same at 0.02 and 0.1).
    public static let defaultThreshold: Float = 0.02

    /// Prunes `model` in place (on its device) and reports its modules (named by `names`),
    /// connection cost, the fraction of weights kept, and `evaluate`'s test loss before and after.
    /// With `modularityNulls`, also the pruned network's modularity and locality against that
    /// many nulls of `nullModel` (`modularity(network:values:metric:nulls:null:seed:)`).
    public static func analyze(
        model: any TrainableModel, names: NeuronNames, threshold: Float = defaultThreshold,
        modularityNulls: Int? = nil, nullModel: NullModel = .shuffled,
        evaluate: () throws -> Evaluation
    ) throws -> AnalysisReport {
        try analyze(
            model: model, names: names, threshold: threshold, modularityNulls: modularityNulls, nullModel: nullModel,
            evaluate: evaluate, before: nil, after: nil)
    }

    /// What `evaluate` gives: the loss, and the accuracy and last-position loss where the task has them.
    public typealias Evaluation = (loss: Double, accuracy: Double?, lastLoss: Double?)

    /// `analyze` at `threshold`, with the evaluations before and after pruning already made
    /// (by a search that evaluated them) taken as given instead of made again.
    private static func analyze(
        model: any TrainableModel, names: NeuronNames, threshold: Float, modularityNulls: Int?,
        nullModel: NullModel, evaluate: () throws -> Evaluation, before: Evaluation?, after: Evaluation?
    ) throws -> AnalysisReport {
        guard threshold >= 0, threshold <= 1 else {
            throw BIMTError.invalidSetting("the threshold must lie in [0, 1], got \(threshold)")
        }
        let network = model.network
        // The connection cost of the training cost's geometry, weights only.
        var settings = model.geometry.settings
        settings.penalizeBiases = false
        let (lossBefore, accuracyBefore, lastLossBefore) = try before ?? evaluate()
        var values = try model.device.read(model.parameters.whole)
        let costBefore = NaiveRelocation.cost(network: network, settings: settings, parameters: values)
        let convolutions = (model as? ConvNet)?.blockCount ?? 0
        let (kept, total, convKept, convTotal, families) = prune(
            &values, network: network, threshold: threshold,
            convolutions: convolutions)
        try model.device.write(values, to: model.parameters.whole)
        let (lossAfter, accuracyAfter, lastLossAfter) = try after ?? evaluate()
        let costAfter = NaiveRelocation.cost(network: network, settings: settings, parameters: values)
        let found = modules(network: network, embedded: model.embedding != nil, names: names, values: values)
        var report = AnalysisReport(
            threshold: threshold, modules: found, connectionCost: costBefore,
            connectionCostAfterPruning: costAfter,
            fractionKept: Double(kept) / Double(max(1, total)),
            convolutionFractionKept: convTotal > 0 ? Double(convKept) / Double(convTotal) : nil,
            lossBefore: lossBefore, lossAfter: lossAfter, accuracyBefore: accuracyBefore,
            accuracyAfter: accuracyAfter, lastLossBefore: lastLossBefore,
            lastLossAfter: lastLossAfter)
        report.familiesKept = families
        if convolutions > 0 {
            let sheets = Array(hiddenGroups(of: network).prefix(convolutions))
            report.channels = sheets.map { network.layers[network.groups[$0].layers[0]].layout.slots }
            report.channelsConnected = sheets.indices.map { b in found.reduce(0) { $0 + $1.hiddenNeurons[b] } }
        }
        if let nulls = modularityNulls {
            report.modularity = try modularity(
                network: network, values: values, metric: model.geometry.settings.metric, nulls: nulls,
                null: nullModel)
        }
        if let gpt = model as? GPT {
            (report.blocks, report.residualDimensionsUsed) = transformer(gpt.architecture, values)
        }
        return report
    }

    /// The modules (and a transformer's blocks) left in a checkpoint's model after pruning, on
    /// the host: what a picture of a finished run lists beside its network.
    public static func structure(of stored: StoredModel, threshold: Float = defaultThreshold)
        -> (modules: [ModuleReport], blocks: [BlockReport]?)
    {
        var values = stored.values
        let convolutions =
            if case let .convNet(convolution, _) = stored.specification {
                convolution.channels.count
            } else {
                0
            }
        _ = prune(&values, network: stored.network, threshold: threshold, convolutions: convolutions)
        let found = modules(
            network: stored.network, embedded: stored.specification.embedding != nil,
            names: stored.names, values: values)
        guard case let .transformer(architecture) = stored.specification else { return (found, nil) }
        return (found, transformer(architecture, values).0)
    }

    /// Sets the weights below threshold x max|w| of their matrix to 0; counts the weights kept
    /// and in all, those of the first `convolutions` matrices (the conv kernels), and the
    /// fraction kept per kind of matrix (`family`).
    static func prune(_ values: inout [Float], network: SpatialNetwork, threshold: Float, convolutions: Int)
        -> (kept: Int, total: Int, convolutionKept: Int, convolutionTotal: Int, families: [String: Double])
    {
        var kept = 0, total = 0, convKept = 0, convTotal = 0
        var families: [String: (kept: Int, total: Int)] = [:]
        for (index, c) in network.connections.enumerated() {
            let before = kept
            let range = c.weight.offset..<(c.weight.offset + c.weight.count)
            let largest = values[range].map(abs).max() ?? 0
            for i in range {
                if abs(values[i]) < threshold * largest { values[i] = 0 } else { kept += 1 }
            }
            total += c.weight.count
            if index < convolutions { convKept += kept - before; convTotal += c.weight.count }
            let name = family(c.name, index: index, convolutions: convolutions)
            families[name, default: (0, 0)].kept += kept - before
            families[name, default: (0, 0)].total += c.weight.count
        }
        return (kept, total, convKept, convTotal, families.mapValues { Double($0.kept) / Double(max(1, $0.total)) })
    }

    /// The kind of matrix connection `name` (the `index`-th) is.
    static func family(_ name: String, index: Int, convolutions: Int) -> String {
        if index < convolutions { return "convolutions" }
        if name == "embed" { return "embeddings" }
        if name == "head" { return "head" }
        if name.contains(".attn.") { return "attention" }
        if name.contains(".mlp.") || name.hasPrefix("layers.") { return "mlp" }
        return "dense"
    }

    /// The sparsest magnitude pruning whose loss (`evaluate`'s) rises by at most `lossBudget`:
    /// the largest threshold (relative to each matrix's largest |w|, to 2^-20) that meets the
    /// budget, found by bisection over [0, 1] (threshold 0 prunes nothing, so it always meets
    /// it), then the report of `analyze` at that threshold. The search assumes the loss grows
    /// with the threshold; where it does not, the result is a threshold that meets the budget
    /// with every smaller one tried meeting it too.
    public static func analyze(
        model: any TrainableModel, names: NeuronNames, lossBudget: Double, modularityNulls: Int? = nil,
        nullModel: NullModel = .shuffled,
        evaluate: () throws -> Evaluation
    ) throws -> AnalysisReport {
        guard lossBudget.isFinite, lossBudget >= 0 else {
            throw BIMTError.invalidSetting(
                "the loss budget is how much pruning may raise the test loss: a finite number >= 0, got \(lossBudget)")
        }
        let before = try evaluate()
        guard before.loss.isFinite else {
            throw BIMTError.invalidSetting(
                "the model's loss before pruning is \(before.loss): no budget can be measured from it")
        }
        var report = try searchPruning(
            model: model, names: names, within: before.loss + lossBudget, before: before,
            modularityNulls: modularityNulls, nullModel: nullModel, evaluate: evaluate)
        report.lossBudget = lossBudget
        return report
    }

    /// The sparsest magnitude pruning whose loss stays within `lossCeiling`, searched as the
    /// budget version does (`bimt sweep` sets the ceiling from its no-penalty run); a model
    /// already above the ceiling unpruned is an error, since no pruning can meet it.
    public static func analyze(
        model: any TrainableModel, names: NeuronNames, lossCeiling: Double, modularityNulls: Int? = nil,
        nullModel: NullModel = .shuffled,
        evaluate: () throws -> Evaluation
    ) throws -> AnalysisReport {
        try searchPruning(
            model: model, names: names, within: lossCeiling, before: try evaluate(),
            modularityNulls: modularityNulls, nullModel: nullModel, evaluate: evaluate)
    }

    /// The bisection of both: `before` is the evaluation before pruning, made once by the
    /// caller; the evaluation at the threshold found is the search's own, not made again.
    private static func searchPruning(
        model: any TrainableModel, names: NeuronNames, within lossCeiling: Double, before: Evaluation,
        modularityNulls: Int?, nullModel: NullModel, evaluate: () throws -> Evaluation
    ) throws -> AnalysisReport {
        guard before.loss <= lossCeiling else {
            throw BIMTError.invalidSetting(
                "the loss before pruning (\(before.loss)) is already above \(lossCeiling): no pruning can meet the "
                    + "budget")
        }
        let original = try model.device.read(model.parameters.whole)
        let convolutions = (model as? ConvNet)?.blockCount ?? 0
        var evaluations = 1
        // The evaluation at `low`, the largest threshold known to meet the ceiling (0 prunes
        // nothing: its evaluation is `before`'s).
        var atLow: Evaluation = before
        func meets(_ threshold: Float) throws -> Bool {
            var values = original
            _ = prune(&values, network: model.network, threshold: threshold, convolutions: convolutions)
            try model.device.write(values, to: model.parameters.whole)
            evaluations += 1
            let evaluation = try evaluate()
            guard evaluation.loss <= lossCeiling else { return false } // a NaN loss does not meet it
            atLow = evaluation
            return true
        }
        var low: Float = 0, high: Float = 1
        if try meets(high) {
            low = high
        } else {
            for _ in 0..<20 {
                let middle = (low + high) / 2
                if try meets(middle) { low = middle } else { high = middle }
            }
        }
        try model.device.write(original, to: model.parameters.whole)
        var report = try analyze(
            model: model, names: names, threshold: low, modularityNulls: modularityNulls, nullModel: nullModel,
            evaluate: evaluate, before: before, after: atLow)
        report.lossCeiling = lossCeiling
        report.searchEvaluations = evaluations
        return report
    }

    /// Heads and MLP neurons that survive pruning, per block, and the residual dimensions in use
    /// (physical positions: heads and dimensions as the relocations left them).
    static func transformer(_ a: TransformerArchitecture, _ values: [Float]) -> ([BlockReport], Int) {
        let d = a.width, hd = a.headDimension, hidden = a.mlpRatio * d
        func weight(_ v: ParameterView, _ row: Int, _ column: Int) -> Float {
            values[v.offset + row * v.columns + column]
        }
        var residualUsed = [Bool](repeating: false, count: d)
        func touch(_ v: ParameterView, residualAlongRows: Bool) {
            for r in 0..<v.rows {
                for c in 0..<v.columns where weight(v, r, c) != 0 { residualUsed[residualAlongRows ? r : c] = true }
            }
        }
        let views = GPT.Views(a)
        touch(views.embedWeight, residualAlongRows: a.vocabulary == nil)
        touch(views.headWeight, residualAlongRows: false)
        let blocks = views.blocks.map { b -> BlockReport in
            for (v, rows) in [(b.qkvWeight, false), (b.projWeight, true), (b.fcWeight, false), (b.mlpProjWeight, true)]
            {
                touch(v, residualAlongRows: rows)
            }
            var fractions: [Double] = [], alive = 0
            for head in 0..<a.heads {
                var kept = 0, count = 0
                var reads = [false, false, false], writes = false
                for part in 0..<3 {
                    for i in 0..<hd {
                        for c in 0..<d {
                            count += 1
                            if weight(b.qkvWeight, part * d + head * hd + i, c) != 0 { kept += 1; reads[part] = true }
                        }
                    }
                }
                for r in 0..<d {
                    for i in 0..<hd {
                        count += 1
                        if weight(b.projWeight, r, head * hd + i) != 0 { kept += 1; writes = true }
                    }
                }
                fractions.append(Double(kept) / Double(count))
                if reads.allSatisfy({ $0 }) && writes { alive += 1 }
            }
            let mlpAlive = (0..<hidden).filter { n in
                (0..<d).contains { weight(b.fcWeight, n, $0) != 0 }
                    && (0..<d).contains { weight(b.mlpProjWeight, $0, n) != 0 }
            }.count
            return BlockReport(
                headFractionKept: fractions, headsAlive: alive, mlpNeuronsAlive: mlpAlive, mlpNeurons: hidden)
        }
        return (blocks, residualUsed.filter { $0 }.count)
    }

    /// Connected components over the non-zero weights, keeping those that join at least
    /// one input to at least one output.
    /// The network's neurons as nodes: a node is a slot of a swap group (the layers of one group,
    /// such as a conv layer's channel sheet seen unfolded and folded, are one set of neurons).
    /// Returns each group's first node (and, last, the node count) and the node of a layer's neuron.
    static func nodes(of network: SpatialNetwork) -> (groupOffsets: [Int], node: (Int, Int) -> Int) {
        let groupOf = Dictionary(
            uniqueKeysWithValues: network.groups.enumerated().flatMap { g, group in group.layers.map { ($0, g) } })
        let groupOffsets = network.groups.reduce(into: [0]) {
            $0.append($0.last! + network.layers[$1.layers[0]].layout.slots)
        }
        func node(_ layer: Int, _ neuron: Int) -> Int {
            let slots = network.layers[layer].layout.slots
            let folds = network.layers[layer].layout.folds
            // Unfolded input/output layers keep one node per neuron (their names are per neuron).
            return groupOffsets[groupOf[layer]!] + (folds == 1 ? neuron : neuron % slots)
        }
        return (groupOffsets, node)
    }

    /// The swap groups of hidden neurons, in the network's order (a conv net's channel sheets
    /// first, block by block): every group but the input's and the output's.
    static func hiddenGroups(of network: SpatialNetwork) -> [Int] {
        let last = network.layers.count - 1
        return network.groups.indices.filter { g in
            !network.groups[g].layers.contains(0) && !network.groups[g].layers.contains(last)
        }
    }

    static func modules(network: SpatialNetwork, embedded: Bool, names: NeuronNames, values: [Float])
        -> [ModuleReport]
    {
        let (groupOffsets, node) = nodes(of: network)
        var parent = Array(0..<groupOffsets.last!)
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
            return x
        }
        for c in network.connections {
            for i in 0..<c.weight.rows {
                for j in 0..<c.weight.columns where values[c.weight.offset + i * c.weight.columns + j] != 0 {
                    let a = find(node(c.output, i)), b = find(node(c.input, j))
                    if a != b { parent[a] = b }
                }
            }
        }
        let last = network.layers.count - 1
        let inputNames = names.inputs, outputNames = names.outputs
        let hiddenGroups = hiddenGroups(of: network)
        var groups: [Int: ModuleReport] = [:]
        func visit(_ root: Int, _ update: (inout ModuleReport) -> Void) {
            var module =
                groups[root]
                ?? ModuleReport(inputs: [], outputs: [], hiddenNeurons: [Int](repeating: 0, count: hiddenGroups.count))
            update(&module)
            groups[root] = module
        }
        let inputSlots =
            network.layers[0].layout.folds == 1 ? network.layers[0].layout.neuronCount : network.layers[0].layout.slots
        for j in 0..<inputSlots {
            let name = network.layers[0].layout.folds == 1 ? inputNames[j] : (embedded ? "dim \(j)" : "channel \(j)")
            visit(find(node(0, j))) { $0.inputs.append(name) }
        }
        for j in 0..<network.layers[last].layout.neuronCount {
            visit(find(node(last, j))) { $0.outputs.append(outputNames[j]) }
        }
        for (h, g) in hiddenGroups.enumerated() {
            for slot in 0..<network.layers[network.groups[g].layers[0]].layout.slots {
                visit(find(groupOffsets[g] + slot)) { $0.hiddenNeurons[h] += 1 }
            }
        }
        return groups.values.filter { !$0.inputs.isEmpty && !$0.outputs.isEmpty }
            .map {
                ModuleReport(inputs: $0.inputs.sorted(), outputs: $0.outputs.sorted(), hiddenNeurons: $0.hiddenNeurons)
            }
            .sorted { $0.outputs.lexicographicallyPrecedes($1.outputs) }
    }
}
