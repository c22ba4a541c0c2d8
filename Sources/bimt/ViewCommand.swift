import ArgumentParser
import BIMT
import Foundation

struct ViewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "view",
        abstract:
            "Write one self-contained HTML page of a run: its curves and its network at every snapshot, animated.",
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

    @OptionGroup var unusedDevice: DrawingDeviceOptions
    @Argument(help: "A run directory written by bimt train.") var runDirectory: String
    @Option(name: [.short, .long], help: "Output HTML file (default: RUN/view.html).") var output: String?
    @Option(help: "Lines drawn per frame at most (the strongest).") var maxLines: Int = 3000

    func validate() throws {
        guard maxLines >= 1 else { throw ValidationError("--max-lines must be >= 1, got \(maxLines)") }
    }

    func run() throws {
        unusedDevice.note(command: "view")
        let directory = URL(fileURLWithPath: runDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
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
