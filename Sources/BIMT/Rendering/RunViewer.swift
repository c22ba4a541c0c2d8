import Foundation

/// One self-contained HTML page of a run (`bimt view`): its metric curves, its network at
/// every snapshot (`Snapshots`) with a slider and play button, relocations marked on the
/// timeline, and the modules `Analysis` finds in its final network. No network access: the
/// data and the script (`RunViewer.script`) are inline.
public enum RunViewer {
    /// The page, and a line for each snapshot file that could not be read (it is left out).
    /// A run without snapshots (written before they existed) gets its final network as the
    /// one frame.
    public static func html(runDirectory: URL, maximumLines: Int = 3000, threshold: Float = 0.01) throws
        -> (html: String, problems: [String])
    {
        let (stored, frames, problems) = try drawings(
            runDirectory: runDirectory, maximumLines: maximumLines,
            threshold: threshold)
        let layout = frames[0].drawing
        let drawnFrames: [[String: Any]] = frames.map { frame in
            // Lines as flat [from, to, strength x 1000 (negative: a negative weight)], strongest first.
            let lines = frame.drawing.lines.flatMap {
                [$0.from, $0.to, Int(($0.strength * 1000).rounded()) * ($0.positive ? 1 : -1)]
            }
            return [
                "step": frame.step, "relocated": frame.relocated, "lines": lines,
                "labels": frame.drawing.neuronLabels.map {
                    [$0.neuron ?? -1, $0.text, rounded($0.y), $0.size] as [Any]
                },
            ]
        }
        let report = Analysis.structure(of: stored)
        var data: [String: Any] = [
            "title": runDirectory.lastPathComponent, "width": layout.width, "height": layout.height,
            "neurons": layout.neurons.map { [rounded($0.x), rounded($0.y), $0.radius] },
            "shades": layout.shades.map { [$0.x, $0.y, $0.width, $0.height] },
            "layerLabels": layout.layerLabels.map { [$0.x, $0.y, $0.text] as [Any] },
            "guides": layout.guides.map { [$0.x1, $0.y1, $0.x2, $0.y2, $0.dark ? 1 : 0] },
            "frames": drawnFrames,
            "modules": report.modules.map { ["inputs": $0.inputs, "outputs": $0.outputs, "hidden": $0.hiddenNeurons] },
            "metrics": try metrics(runDirectory),
            "problems": problems,
        ]
        if let blocks = report.blocks {
            data["blocks"] = blocks.map {
                [
                    "heads": $0.headsAlive, "headFractions": $0.headFractionKept, "mlp": $0.mlpNeuronsAlive,
                    "mlpTotal": $0.mlpNeurons,
                ]
            }
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: data), as: UTF8.self)
            .replacingOccurrences(of: "</", with: "<\\/")
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">\
            <title>bimt run \(NetworkRenderer.escape(runDirectory.lastPathComponent))</title>
            <style>\(style)</style></head>
            <body>
            <h1>\(NetworkRenderer.escape(runDirectory.lastPathComponent))</h1>
            <div id="controls"><button id="play">play</button>
            <input type="range" id="slider" min="0" max="\(drawnFrames.count - 1)" value="\(drawnFrames.count - 1)">
            <span id="frame"></span></div>
            <canvas id="timeline" width="900" height="14"></canvas>
            <div id="main"><canvas id="net"></canvas>
            <div id="side"><h2>Modules (final network)</h2><ul id="modules"></ul>\
            <div id="blocks"></div><div id="problems"></div></div></div>
            <h2>Training curves <label><input type="checkbox" id="logscale" checked> log scale</label></h2>
            <canvas id="curves" width="1000" height="240"></canvas><div id="readout">&nbsp;</div>
            <pre id="selftest" hidden></pre>
            <script id="data" type="application/json">\(json)</script>
            <script>\(script)</script>
            </body></html>

            """
        return (html, problems)
    }

    static func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    /// A run's frames as drawings (its final network alone when it has no snapshots), the
    /// stored model (final weights, read on the host) and a line per frame that could not be
    /// read or used.
    public static func drawings(runDirectory: URL, maximumLines: Int = 3000, threshold: Float = 0.01) throws
        -> (stored: StoredModel, frames: [(step: Int, relocated: Bool, drawing: NetworkDrawing)], problems: [String])
    {
        let checkpoint = runDirectory.appending(path: Checkpoint.fileName)
        guard FileManager.default.fileExists(atPath: checkpoint.path) else {
            throw BIMTError.invalidSetting(
                "\(runDirectory.path) is not a run directory (no checkpoint.safetensors); "
                    + "give the directory a training run wrote")
        }
        let trained = try StoredModel.load(checkpoint: checkpoint)
        let network = trained.network, final = trained.values
        let perLayer = if case .transformer = trained.specification { true } else { false }
        var (frames, problems) = Snapshots.read(runDirectory: runDirectory, network: network)
        if frames.isEmpty {
            frames = [
                Snapshots.Frame(
                    step: trained.step, relocated: false, matrices: [], inputPermutation: network.inputPermutation,
                    outputPermutation: network.outputPermutation)
            ]
        }
        // Names in logical order, from the final names through the final permutations.
        var logicalInputs = trained.names.inputs, logicalOutputs = trained.names.outputs
        for (slot, logical) in network.inputPermutation.enumerated() where logical < logicalInputs.count {
            logicalInputs[logical] = trained.names.inputs[slot]
        }
        for (slot, logical) in network.outputPermutation.enumerated() where logical < logicalOutputs.count {
            logicalOutputs[logical] = trained.names.outputs[slot]
        }
        var drawn: [(step: Int, relocated: Bool, drawing: NetworkDrawing)] = []
        for frame in frames {
            var values = final
            if !frame.matrices.isEmpty {
                do { try frame.apply(to: &values, network: network) } catch {
                    problems.append("the frame of step \(frame.step): \(error); skipped")
                    continue
                }
            }
            var names = trained.names
            if frame.inputPermutation.count == names.inputs.count {
                names.inputs = frame.inputPermutation.map { logicalInputs[$0] }
            }
            if frame.outputPermutation.count == names.outputs.count {
                names.outputs = frame.outputPermutation.map { logicalOutputs[$0] }
            }
            drawn.append(
                (
                    frame.step, frame.relocated,
                    NetworkDrawing(
                        network: network, values: values, names: names, perLayer: perLayer,
                        threshold: threshold, maximumLines: maximumLines)
                ))
        }
        guard !drawn.isEmpty else { throw BIMTError.invalidSetting("no frame of \(runDirectory.path) could be drawn") }
        return (trained, drawn, problems)
    }

    /// metrics.csv as columns (step, train_loss, test_loss, cost, lambda, test_accuracy).
    static func metrics(_ runDirectory: URL) throws -> [String: [Double?]] {
        guard let text = try? String(contentsOf: runDirectory.appending(path: "metrics.csv"), encoding: .utf8) else {
            return [:]
        }
        let lines = text.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        guard let header = lines.first else { return [:] }
        var columns: [String: [Double?]] = [:]
        for name in ["step", "train_loss", "test_loss", "cost", "lambda", "test_accuracy"] {
            guard let index = header.firstIndex(of: name) else { continue }
            columns[name] = lines.dropFirst().map { index < $0.count ? Double($0[index]) : nil }
        }
        return columns
    }

    static let style = """
        body { font: 14px sans-serif; margin: 16px; color: #222; }
        h1 { font-size: 18px; } h2 { font-size: 15px; margin: 12px 0 6px; }
        #main { display: flex; gap: 16px; align-items: flex-start; }
        #net { border: 1px solid #ddd; max-width: 75vw; }
        #side { min-width: 220px; max-width: 320px; font-size: 13px; }
        #modules li { cursor: pointer; margin-bottom: 4px; } #modules li.active { background: #ffe9a8; }
        #controls { margin-bottom: 4px; } #slider { width: 600px; vertical-align: middle; }
        #readout { font-size: 13px; min-height: 18px; } #problems { color: #a00; }
        """
}
