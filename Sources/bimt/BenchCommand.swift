import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the kernels.",
        subcommands: [BenchGemmCommand.self, BenchBIMTCommand.self, BenchTrainCommand.self, BenchAttentionCommand.self]
    )
}

struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Time C = A*B on a device: kernel time only (median of --repeat runs after a warm-up).",
        discussion: """
            GFLOP/s counts 2*M*N*K per product. max_rel_error is max|C - C_ref| / max|C_ref|, \
            against the CPU path for an OpenCL device, and against double-precision dot products \
            on 256 sampled entries for the CPU path.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(name: .customLong("size"), parsing: .upToNextOption, help: "Square sizes N (M = N = K = N).")
    var sizes: [Int] = []

    @Option(name: .customLong("shape"), parsing: .upToNextOption, help: "Shapes MxNxK.")
    var shapes: [String] = []

    @Option(help: "Transposes of A and B: NN, NT, TN or TT.")
    var trans: String = "NN"

    @Option(help: "Timed runs per shape.")
    var `repeat`: Int = 10

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard ["NN", "NT", "TN", "TT"].contains(trans.uppercased()) else {
            throw ValidationError("--trans must be NN, NT, TN or TT, got '\(trans)'")
        }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be >= 1, got \(`repeat`)") }
        for size in sizes where size < 1 { throw ValidationError("--size values must be >= 1, got \(size)") }
        for (m, n, k) in try parsedShapes() {
            let (m, n, k) = (Double(m), Double(n), Double(k))
            try requireBenchBuffer(max(m * k, k * n, m * n), "an operand of \(Int(m))x\(Int(n))x\(Int(k))",
                                   flags: "--size/--shape")
        }
    }

    func parsedShapes() throws -> [(Int, Int, Int)] {
        var result = sizes.map { ($0, $0, $0) }
        for text in shapes {
            let parts = text.lowercased().split(separator: "x").map { Int($0) }
            guard parts.count == 3, let m = parts[0], let n = parts[1], let k = parts[2], m >= 1, n >= 1, k >= 1 else {
                throw ValidationError("--shape '\(text)' is not MxNxK with positive sizes, e.g. 512x256x128")
            }
            result.append((m, n, k))
        }
        return result.isEmpty ? [(512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048)] : result
    }

    func run() throws {
        let device = try deviceOptions.open()
        let transposes = Array(trans.uppercased())
        var results: [GemmBenchmarkResult] = []
        if !json {
            print("device: \(device.name)" + (device.gemmVariant.map { ", gemm_\($0.rawValue)" } ?? ""))
            print(pad("M x N x K", 20) + pad("trans", 7) + pad("seconds", 13) + pad("GFLOP/s", 10) + "max_rel_error")
        }
        for (m, n, k) in try parsedShapes() {
            let result = try GemmBenchmark.run(device: device, m: m, n: n, k: k,
                                               transposeA: transposes[0] == "T", transposeB: transposes[1] == "T",
                                               repeats: `repeat`)
            results.append(result)
            if !json {
                print(pad("\(m) x \(n) x \(k)", 20) + pad(result.trans, 7)
                      + pad(String(format: "%.6f", result.seconds), 13) + pad(String(format: "%.1f", result.gflops), 10)
                      + String(format: "%.2e", result.maxRelError))
            }
        }
        if json {
            struct Report: Encodable { let device: String; let results: [GemmBenchmarkResult] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Report(device: device.name, results: results)), as: UTF8.self))
        }
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

/// Refuses a benchmark whose one buffer (`values` floats, computed in floating point so that
/// it cannot overflow) would pass the 2^31 - 1 floats a kernel indexes with 32-bit offsets.
func requireBenchBuffer(_ values: Double, _ what: String, flags: String) throws {
    guard values < Double(Int32.max) else {
        throw ValidationError("\(flags): \(what) would hold \(String(format: "%.3g", values)) floats, past the "
                              + "2^31 - 1 a kernel indexes; give smaller sizes")
    }
}

struct BenchBIMTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bimt",
        abstract: "Time one penalty pass, greedy and assignment relocation, and the paper's naive procedure.",
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
            throw ValidationError("--shape must be at least two positive sizes separated by commas, e.g. 784,100,100,10; got '\(shape)'")
        }
        return sizes.compactMap { $0 }
    }

    func validate() throws {
        let widths = try sizes().map(Double.init)
        for (a, b) in zip(widths, widths.dropFirst()) {
            try requireBenchBuffer(a * b, "a weight matrix", flags: "--shape")
        }
        guard LayoutFamily(rawValue: layout) != nil else { throw ValidationError("--layout must be line or grid, got '\(layout)'") }
        guard topK >= 1 else { throw ValidationError("--top-k must be >= 1, got \(topK)") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be >= 1, got \(`repeat`)") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let result: BIMTBenchmarkResult
        do {
            result = try BIMTBenchmark.run(device: device, shape: try sizes(), layout: LayoutFamily(rawValue: layout)!,
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
        print("device: \(result.device); MLP \(result.shape.map(String.init).joined(separator: "-")), \(result.layout) layouts, top_k \(result.topK)")
        print("penalty pass (cost + gradient) \(ms(result.penaltySeconds))   one read of the weights \(ms(result.readSeconds))   ratio \(String(format: "%.2f", result.penaltySeconds / result.readSeconds))x")
        print("swap scores, all layers        \(ms(result.scoresSeconds))")
        print("greedy relocation              \(ms(result.greedySeconds))   cost \(String(format: "%.6f", result.costBefore)) -> \(String(format: "%.6f", result.costAfterGreedy))")
        print("assignment relocation          \(ms(result.assignmentSeconds))   cost \(String(format: "%.6f", result.costBefore)) -> \(String(format: "%.6f", result.costAfterAssignment))")
        if let naive = result.naiveSeconds, let after = result.costAfterNaive, let speedup = result.speedupVsNaive {
            print("naive (paper's procedure)      \(ms(naive))   cost \(String(format: "%.6f", result.costBefore)) -> \(String(format: "%.6f", after))")
            print("greedy speedup vs naive: \(String(format: "%.0f", speedup))x")
        }
    }
}

struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Train with relocations and checkpoints for a while; fail if live buffers or resident memory grow.",
        discussion: "Passes when the live buffer count is constant and resident memory grows by less than 1 % after the warm-up."
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(help: "Untimed steps before the baseline is taken.") var warmup: Int = 1000
    @Option(help: "Steps after the warm-up.") var steps: Int?
    @Option(help: "Minutes after the warm-up (instead of --steps).") var minutes: Double?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (steps == nil) != (minutes == nil) else { throw ValidationError("give exactly one of --steps and --minutes") }
        guard warmup >= 1, (steps ?? 1) >= 1, (minutes ?? 1) > 0 else { throw ValidationError("--warmup, --steps and --minutes must be positive") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let report = try Soak.run(device: device, warmup: warmup, steps: steps, seconds: minutes.map { $0 * 60 })
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(String(format: "%@: %d steps in %.0f s; live buffers %d -> %d; resident %.1f -> %.1f MiB (%+.3f %%): %@",
                         report.device, report.steps, report.seconds, report.buffersAfterWarmup, report.buffersAtEnd,
                         Double(report.residentBytesAfterWarmup) / 1_048_576, Double(report.residentBytesAtEnd) / 1_048_576,
                         100 * report.residentGrowth, report.passed ? "PASS" : "FAIL"))
        }
        if !report.passed { throw ExitCode(1) }
    }
}
