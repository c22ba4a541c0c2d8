import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Prune a checkpoint's weights below T x max|w| per matrix and report its modules.",
        discussion: """
            --loss-budget B finds T instead: the largest threshold whose pruning raises the test \
            (or validation) loss by at most B, by bisection over [0, 1] (to 2^-20; about 22 \
            evaluations), then reports that pruning. --json: fraction_kept is the fraction of \
            weights kept, families_kept the same per kind of matrix (attention, mlp, embeddings, \
            head, convolutions, dense), loss_budget and search_evaluations the search's; for a \
            conv net, channels and channels_connected: each block's channels, and those still in \
            a module after pruning.

            --modularity measures the pruned network against --nulls copies whose every matrix \
            has its weights shuffled (same sparsity), or with --null degree rewired so that every \
            neuron keeps its number of connections: Newman's modularity Q of its neuron graph \
            (Louvain communities, igraph), the nulls' mean and spread, and the z-score; and the \
            |w|-weighted mean connection length against the same nulls (JSON: "modularity").
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Argument(help: "A checkpoint.safetensors written by bimt train (or its run directory).") var checkpoint: String
    @Option(help: "Pruning threshold relative to each matrix's largest |w| (default 0.02).") var threshold: Float?
    @Option(help: "Prune as far as the loss may rise by this much (finds the threshold; not with --threshold).")
    var lossBudget: Double?
    @Flag(help: "Also measure modularity and locality against shuffled-weight nulls.") var modularity = false
    @OptionGroup var nullOptions: NullOptions
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Evaluate on the task's test split, also for a run that held out validation examples (--validation).")
    var testSplit = false

    func validate() throws {
        if let threshold, !(threshold >= 0 && threshold <= 1) {
            throw ValidationError("--threshold must lie in [0, 1], got \(threshold)")
        }
        if let lossBudget {
            guard threshold == nil else {
                throw ValidationError("--loss-budget finds the threshold itself: give it or --threshold, not both")
            }
            guard lossBudget.isFinite, lossBudget >= 0 else {
                throw ValidationError(
                    "--loss-budget is how much pruning may raise the loss: a number >= 0, got \(lossBudget)")
            }
        }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let report: AnalysisReport
        do {
            let trainer = try Trainer.load(
                checkpoint: checkpointURL(checkpoint), device: device,
                onTestSplit: testSplit)
            let (nulls, null) = (modularity ? nullOptions.nulls : nil, nullOptions.null)
            report =
                try lossBudget.map {
                    try Analysis.analyze(trainer, lossBudget: $0, modularityNulls: nulls, nullModel: null)
                }
                ?? Analysis.analyze(
                    trainer, threshold: threshold ?? Analysis.defaultThreshold, modularityNulls: nulls,
                    nullModel: null)
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(
            String(
                format: "threshold %.3g: %.1f%% of weights kept; connection cost %.5g -> %.5g", report.threshold,
                100 * report.fractionKept, report.connectionCost, report.connectionCostAfterPruning))
        if let budget = report.lossBudget, let evaluations = report.searchEvaluations {
            print(
                String(
                    format: "loss budget %.4g: the largest threshold within it is %.4g (%d evaluations)", budget,
                    report.threshold, evaluations))
        }
        if let families = report.familiesKept, families.count > 1 {
            print(
                "weights kept per kind: "
                    + families.sorted { $0.key < $1.key }.map {
                        "\($0.key) " + String(format: "%.1f%%", 100 * $0.value)
                    }
                    .joined(separator: ", "))
        }
        if let conv = report.convolutionFractionKept {
            print(
                String(
                    format: "convolution kernels: %.1f%% of weights kept (%.1f%% pruned)", 100 * conv, 100 * (1 - conv))
            )
        }
        let split = report.evaluatedOn ?? "test"
        var loss = String(format: "\(split) loss %.5g -> %.5g", report.lossBefore, report.lossAfter)
        if let a = report.accuracyBefore, let b = report.accuracyAfter {
            loss += String(format: ", \(split) accuracy %.2f%% -> %.2f%%", 100 * a, 100 * b)
        }
        if let a = report.lastLossBefore, let b = report.lastLossAfter {
            loss += String(format: ", at the last position %.5g -> %.5g", a, b)
        }
        print(loss)
        if let m = report.modularity {
            let z = m.z.map { String(format: "z %.1f", $0) } ?? "z undefined (the nulls do not vary)"
            let lengthZ = m.lengthZ.map { String(format: "z %.1f", $0) } ?? "z undefined"
            print(
                String(
                    format: "modularity Q %.4f (%d communities) against %d %@ nulls %.4f +- %.4f: ", m.q,
                    m.communities, m.nulls, (m.null == .degree ? "degree-preserving" : "shuffled") as NSString,
                    m.nullMean, m.nullStd) + z)
            print(
                String(
                    format: "mean connection length %.4f against the nulls' %.4f +- %.4f: ", m.meanLength,
                    m.nullLengthMean, m.nullLengthStd) + lengthZ)
        }
        if let channels = report.channels, let connected = report.channelsConnected {
            let blocks = zip(connected, channels).map { "\($0) of \($1)" }.joined(separator: ", ")
            print("conv net: channels in a module per block: \(blocks)")
        }
        if let blocks = report.blocks, let used = report.residualDimensionsUsed {
            print("transformer: \(used) residual dimensions in use")
            for (l, block) in blocks.enumerated() {
                let heads = block.headFractionKept.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: ", ")
                print(
                    "  block \(l): \(block.headsAlive) of \(block.headFractionKept.count) heads alive "
                        + "(weights kept per head: \(heads)); "
                        + "MLP neurons alive \(block.mlpNeuronsAlive) of \(block.mlpNeurons)")
            }
        }
        print(
            "\(report.modules.count) module(s) joining inputs to outputs "
                + "(hidden neurons per hidden layer or channel sheet):"
        )
        func list(_ names: [String]) -> String {
            names.count <= 16
                ? "{\(names.joined(separator: ", "))}"
                : "{\(names.prefix(8).joined(separator: ", ")), ... (\(names.count) in all; --json lists them)}"
        }
        for (i, m) in report.modules.enumerated() {
            print(
                "  module \(i + 1): \(list(m.inputs)) -> \(list(m.outputs)), "
                    + "hidden neurons per layer \(m.hiddenNeurons)"
            )
        }
    }
}

/// A checkpoint path, or a run directory holding one.
func checkpointURL(_ path: String) -> URL {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        return URL(fileURLWithPath: path).appending(path: Trainer.checkpointName)
    }
    return URL(fileURLWithPath: path)
}
