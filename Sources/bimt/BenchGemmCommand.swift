import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Time C = A*B on a device: kernel time only (median of --repeat runs after a warm-up).",
        discussion: """
            GFLOP/s counts 2*M*N*K per product. max_rel_error is max|C - C_ref| / max|C_ref|, \
            against the CPU path's fp32 product for an OpenCL device, and against double-precision \
            dot products of the fp32 operands on 256 sampled entries for the CPU path (so in bf16 \
            it includes the operands' rounding, about 2e-3 relative).
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions

    @Option(name: .customLong("size"), parsing: .upToNextOption, help: "Square sizes N (M = N = K = N).")
    var sizes: [Int] = []

    @Option(name: .customLong("shape"), parsing: .upToNextOption, help: "Shapes MxNxK.")
    var shapes: [String] = []

    @Option(help: "Transposes of A and B: NN, NT, TN or TT.")
    var trans: String = "NN"

    @Option(
        help: """
            Operand precision: fp32, bf16 (operands rounded to bfloat16, fp32 accumulation and C; the \
            time includes the rounding) or auto (bf16 where the device computes it natively).
            """)
    var precision: PrecisionSetting = .fp32

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
            try requireBenchBuffer(
                max(m * k, k * n, m * n), "an operand of \(Int(m))x\(Int(n))x\(Int(k))",
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
        let choice: PrecisionChoice
        do {
            choice = try device.choosePrecision(precision)
            try device.setMatrixPrecision(choice.precision)
        } catch let error as ComputeError {
            throw ValidationError("--precision: \(error)")
        }
        let transposes = Array(trans.uppercased())
        var results: [GemmBenchmarkResult] = []
        if !json {
            print("device: \(device.name)" + (device.gemmVariant.map { ", gemm_\($0.rawValue)" } ?? ""))
            print("precision: \(choice.explanation)")
            print(pad("M x N x K", 20) + pad("trans", 7) + pad("seconds", 13) + pad("GFLOP/s", 10) + "max_rel_error")
        }
        for (m, n, k) in try parsedShapes() {
            let result = try GemmBenchmark.run(
                device: device, m: m, n: n, k: k,
                transposeA: transposes[0] == "T", transposeB: transposes[1] == "T",
                repeats: `repeat`)
            results.append(result)
            if !json {
                print(
                    pad("\(m) x \(n) x \(k)", 20) + pad(result.trans, 7)
                        + pad(String(format: "%.6f", result.seconds), 13)
                        + pad(String(format: "%.1f", result.gflops), 10)
                        + String(format: "%.2e", result.maxRelError))
            }
        }
        if json {
            struct Report: Encodable { let device: String; let precision: String; let results: [GemmBenchmarkResult] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(
                String(
                    decoding: try encoder.encode(
                        Report(device: device.name, precision: choice.precision.rawValue, results: results)),
                    as: UTF8.self))
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
        throw ValidationError(
            "\(flags): \(what) would hold \(String(format: "%.3g", values)) floats, past the "
                + "2^31 - 1 a kernel indexes; give smaller sizes")
    }
}
