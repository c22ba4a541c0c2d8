import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchBIMTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bimt",
        abstract: "Time one connection-cost pass, greedy and assignment relocation, and the paper's naive procedure.",
        discussion: """
            The network is an MLP of --shape with PyTorch's default initialization and the paper's \
            image-model cost (mean, wf 2, l0 0.5). --layout grid puts square layers on grids, a \
            non-square last layer on a ring, and freezes the input (pixels stay put); --layout line \
            puts every layer on a line and swaps inputs too. Times are medians of --repeat runs; the \
            naive procedure (trial swaps with a full double-precision cost per candidate) runs once.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(help: "Layer sizes, comma-separated.")
    var shape: String = "784,100,100,10"

    @Option(help: "line or grid.")
    var layout: String = "grid"

    @Option(help: "Neurons per layer that try a swap (greedy).")
    var topK: Int = 30

    @Option(help: "Timed runs per figure.")
    var `repeat`: Int = 10

    @Flag(inversion: .prefixedNo, help: "Also run the paper's naive procedure (slow for large shapes).")
    var naive = true

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func sizes() throws -> [Int] {
        let sizes = shape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count >= 2, sizes.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError(
                "--shape must be at least two positive sizes separated by commas, e.g. 784,100,100,10; got '\(shape)'")
        }
        return sizes.compactMap { $0 }
    }

    func validate() throws {
        let widths = try sizes().map(Double.init)
        for (a, b) in zip(widths, widths.dropFirst()) {
            try requireBenchBuffer(a * b, "a weight matrix", flags: "--shape")
        }
        guard LayoutFamily(rawValue: layout) != nil else {
            throw ValidationError("--layout must be line or grid, got '\(layout)'")
        }
        guard topK >= 1 else { throw ValidationError("--top-k must be >= 1, got \(topK)") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be >= 1, got \(`repeat`)") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let result: BIMTBenchmarkResult
        do {
            result = try BIMTBenchmark.run(
                device: device, shape: try sizes(), layout: LayoutFamily(rawValue: layout)!,
                topK: topK, repeats: `repeat`, naive: naive)
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        func ms(_ seconds: Double) -> String { String(format: "%10.3f ms", seconds * 1000) }
        print(
            "device: \(result.device); MLP \(result.shape.map(String.init).joined(separator: "-")), "
                + "\(result.layout) layouts, top_k \(result.topK)"
        )
        print(
            "connection-cost pass (cost + gradient) \(ms(result.connectionCostSeconds))   "
                + "one read of the weights \(ms(result.readSeconds))   "
                + "ratio \(String(format: "%.2f", result.connectionCostSeconds / result.readSeconds))x"
        )
        print("swap scores, all layers        \(ms(result.scoresSeconds))")
        print(
            "greedy relocation              \(ms(result.greedySeconds))   "
                + "cost \(String(format: "%.6f", result.costBefore)) "
                + "-> \(String(format: "%.6f", result.costAfterGreedy))"
        )
        print(
            "assignment relocation          \(ms(result.assignmentSeconds))   "
                + "cost \(String(format: "%.6f", result.costBefore)) "
                + "-> \(String(format: "%.6f", result.costAfterAssignment))"
        )
        if let naive = result.naiveSeconds, let after = result.costAfterNaive, let speedup = result.speedupVsNaive {
            print(
                "naive (paper's procedure)      \(ms(naive))   "
                    + "cost \(String(format: "%.6f", result.costBefore)) -> \(String(format: "%.6f", after))"
            )
            print("greedy speedup vs naive: \(String(format: "%.0f", speedup))x")
        }
    }
}
