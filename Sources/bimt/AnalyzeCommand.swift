import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Prune a checkpoint's weights below T x max|w| per matrix and report its modules."
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Argument(help: "A checkpoint.safetensors written by bimt train (or its run directory).") var checkpoint: String
    @Option(help: "Pruning threshold relative to each matrix's largest |w|.") var threshold: Float = Analysis.defaultThreshold
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Evaluate on the task's test split, also for a run that held out validation examples (--validation).")
    var testSplit = false

    func validate() throws {
        guard threshold >= 0 && threshold <= 1 else { throw ValidationError("--threshold must lie in [0, 1], got \(threshold)") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let report: AnalysisReport
        do {
            let trainer = try Trainer.load(checkpoint: checkpointURL(checkpoint), device: device,
                                           onTestSplit: testSplit)
            report = try Analysis.analyze(trainer, threshold: threshold)
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(String(format: "threshold %.3g: %.1f%% of weights kept; wiring cost %.5g -> %.5g", report.threshold,
                     100 * report.fractionKept, report.wiringCost, report.wiringCostAfterPruning))
        if let conv = report.convolutionFractionKept {
            print(String(format: "convolution kernels: %.1f%% of weights kept (%.1f%% pruned)", 100 * conv, 100 * (1 - conv)))
        }
        let split = report.evaluatedOn ?? "test"
        var loss = String(format: "\(split) loss %.5g -> %.5g", report.lossBefore, report.lossAfter)
        if let a = report.accuracyBefore, let b = report.accuracyAfter {
            loss += String(format: ", \(split) accuracy %.2f%% -> %.2f%%", 100 * a, 100 * b)
        }
        if let a = report.lastLossBefore, let b = report.lastLossAfter { loss += String(format: ", at the last position %.5g -> %.5g", a, b) }
        print(loss)
        if let blocks = report.blocks, let used = report.residualDimensionsUsed {
            print("transformer: \(used) residual dimensions in use")
            for (l, block) in blocks.enumerated() {
                let heads = block.headFractionKept.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: ", ")
                print("  block \(l): \(block.headsAlive) of \(block.headFractionKept.count) heads alive (weights kept per head: \(heads)); "
                      + "MLP neurons alive \(block.mlpNeuronsAlive) of \(block.mlpNeurons)")
            }
        }
        print("\(report.modules.count) module(s) joining inputs to outputs (hidden neurons per hidden layer or channel sheet):")
        func list(_ names: [String]) -> String {
            names.count <= 16 ? "{\(names.joined(separator: ", "))}"
                : "{\(names.prefix(8).joined(separator: ", ")), ... (\(names.count) in all; --json lists them)}"
        }
        for (i, m) in report.modules.enumerated() {
            print("  module \(i + 1): \(list(m.inputs)) -> \(list(m.outputs)), hidden neurons per layer \(m.hiddenNeurons)")
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

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw a checkpoint's network as an SVG (neurons at their coordinates, blue + / red - weights)."
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Argument(help: "A checkpoint.safetensors written by bimt train (or its run directory).") var checkpoint: String
    @Option(name: .shortAndLong, help: "Output SVG file.") var output: String = "graph.svg"
    @Option(help: "Leave out weights below T x max|w| of their matrix.") var threshold: Float = 0.01
    @Flag(help: "Draw each first-layer neuron's receptive field (its incoming weights as an image) as a PNG grid.")
    var fields = false
    @Flag(help: "Animate a run directory's snapshots as a looping GIF (-o FILE.gif): the network at every frame, a bar showing how far into the run.")
    var animate = false
    @Option(help: "Width of the animation in pixels.") var gifWidth: Int = 600
    @Option(help: "Hundredths of a second per animation frame.") var delay: Int = 15
    @Option(help: "Animate at most this many frames, evenly spread over the run (first and last kept).") var maxFrames: Int?

    func validate() throws {
        guard gifWidth >= 16, gifWidth <= 4000, delay >= 1, delay <= 6000, (maxFrames ?? 2) >= 2 else {
            throw ValidationError("--gif-width must lie in 16...4000 pixels, --delay in 1...6000 hundredths of a second, --max-frames >= 2")
        }
        if animate && !output.lowercased().hasSuffix(".gif") {
            throw ValidationError("--animate writes a GIF: use -o FILE.gif")
        }
    }

    func run() throws {
        // Drawing reads the checkpoint on the host: no device is opened.
        if animate {
            let directory = URL(fileURLWithPath: checkpoint)
            do {
                var (_, frames, problems) = try RunViewer.drawings(runDirectory: directory, threshold: threshold)
                if let maxFrames, frames.count > maxFrames {
                    let chosen = Set((0..<maxFrames).map { Int((Double($0) * Double(frames.count - 1) / Double(maxFrames - 1)).rounded()) })
                    frames = frames.enumerated().filter { chosen.contains($0.offset) }.map(\.element)
                }
                for problem in problems { printError("warning: snapshot \(problem)") }
                let last = Double(max(1, frames.last!.step))
                var height = 0
                let pixels = frames.map { frame -> [UInt8] in
                    let (h, image) = GIF.raster(frame.drawing, width: gifWidth, progress: Double(frame.step) / last, relocated: frame.relocated)
                    height = h
                    return image
                }
                try GIF.encode(width: gifWidth, height: height, frames: pixels, delay: delay).write(to: URL(fileURLWithPath: output), options: .atomic)
                printError("wrote \(output): \(frames.count) frames, \(gifWidth) x \(height)")
            } catch let error as BIMTError {
                throw RuntimeFailure(error.description)
            }
            return
        }
        do {
            // The model and its names alone: drawing needs no data.
            let stored = try StoredModel.load(checkpoint: checkpointURL(checkpoint))
            if fields {
                let (width, height, rgb) = try NetworkRenderer.receptiveFields(stored)
                try PNG.encode(width: width, height: height, rgb: rgb).write(to: URL(fileURLWithPath: output), options: .atomic)
            } else if output.lowercased().hasSuffix(".png") {
                throw ValidationError("the network graph is drawn as SVG; use -o FILE.svg, or --fields for a PNG of receptive fields")
            } else {
                let svg = NetworkRenderer.svg(stored, threshold: threshold)
                try Data(svg.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            }
            printError("wrote \(output)")
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
    }
}

struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract: "Write one self-contained HTML page of a run: its curves and its network at every snapshot, animated.",
        discussion: """
            The page needs no network access. It draws the network as 'bimt render' does at \
            each frame the run saved (every log step and relocation; a slider and play button \
            move through them, relocations are marked on the timeline), the train/test loss, \
            connection cost and lambda curves (hover for values, log scale toggle), and the \
            modules 'bimt analyze' finds in the final network (click one to highlight it; hover \
            a neuron to highlight its connections). A run from before snapshots existed gets \
            its final network as the one frame.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Argument(help: "A run directory written by bimt train.") var runDirectory: String
    @Option(name: [.short, .long], help: "Output HTML file (default: RUN/view.html).") var output: String?
    @Option(help: "Lines drawn per frame at most (the strongest).") var maxLines: Int = 3000

    func validate() throws {
        guard maxLines >= 1 else { throw ValidationError("--max-lines must be >= 1, got \(maxLines)") }
    }

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RuntimeFailure("\(runDirectory) is not a directory; give the run directory bimt train --out wrote")
        }
        do {
            let (html, problems) = try RunViewer.html(runDirectory: directory, maximumLines: maxLines)
            for problem in problems { printError("warning: snapshot \(problem)") }
            let target = output.map { URL(fileURLWithPath: $0) } ?? directory.appending(path: "view.html")
            try Data(html.utf8).write(to: target, options: .atomic)
            print("wrote \(target.path)")
        } catch let error as BIMTError {
            throw RuntimeFailure("\(error)")
        }
    }
}
