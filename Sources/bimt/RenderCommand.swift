import ArgumentParser
import BIMT
import Foundation

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw a checkpoint's network as an SVG (neurons at their coordinates, blue + / red - weights)."
    )

    @OptionGroup var unusedDevice: DrawingDeviceOptions
    @Argument(help: "A checkpoint.safetensors written by bimt train (or its run directory).") var checkpoint: String
    @Option(name: .shortAndLong, help: "Output SVG file.") var output: String = "graph.svg"
    @Option(help: "Leave out weights below T x max|w| of their matrix.") var threshold: Float = 0.01
    @Flag(help: "Draw each first-layer neuron's receptive field (its incoming weights as an image) as a PNG grid.")
    var fields = false
    @Flag(
        help: """
            Animate a run directory's snapshots as a looping GIF (-o FILE.gif): the network at every frame, a bar \
            showing how far into the run.
            """
    )
    var animate = false
    @Option(help: "Width of the animation in pixels.") var gifWidth: Int = 600
    @Option(help: "Hundredths of a second per animation frame.") var delay: Int = 15
    @Option(help: "Animate at most this many frames, evenly spread over the run (first and last kept).") var maxFrames:
        Int?

    func validate() throws {
        guard gifWidth >= 16, gifWidth <= 4000, delay >= 1, delay <= 6000, (maxFrames ?? 2) >= 2 else {
            throw ValidationError(
                "--gif-width must lie in 16...4000 pixels, --delay in 1...6000 hundredths of a second, "
                    + "--max-frames >= 2"
            )
        }
        if animate && !output.lowercased().hasSuffix(".gif") {
            throw ValidationError("--animate writes a GIF: use -o FILE.gif")
        }
    }

    func run() throws {
        // Drawing reads the checkpoint on the host: no device is opened.
        unusedDevice.note(command: "render")
        if animate {
            let directory = URL(fileURLWithPath: checkpoint)
            do {
                var (_, frames, problems) = try RunViewer.drawings(runDirectory: directory, threshold: threshold)
                if let maxFrames, frames.count > maxFrames {
                    let chosen = Set(
                        (0..<maxFrames).map {
                            Int((Double($0) * Double(frames.count - 1) / Double(maxFrames - 1)).rounded())
                        })
                    frames = frames.enumerated().filter { chosen.contains($0.offset) }.map(\.element)
                }
                for problem in problems { printError("warning: snapshot \(problem)") }
                let last = Double(max(1, frames.last!.step))
                var height = 0
                let pixels = frames.map { frame -> [UInt8] in
                    let (h, image) = GIF.raster(
                        frame.drawing, width: gifWidth, progress: Double(frame.step) / last, relocated: frame.relocated)
                    height = h
                    return image
                }
                try GIF.encode(width: gifWidth, height: height, frames: pixels, delay: delay).write(
                    to: URL(fileURLWithPath: output), options: .atomic)
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
                try PNG.encode(width: width, height: height, rgb: rgb).write(
                    to: URL(fileURLWithPath: output), options: .atomic)
            } else if output.lowercased().hasSuffix(".png") {
                throw ValidationError(
                    "the network graph is drawn as SVG; use -o FILE.svg, or --fields for a PNG of receptive fields")
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
