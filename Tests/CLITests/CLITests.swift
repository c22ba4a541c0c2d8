import Foundation
import Testing

/// Runs the `bimt` binary that `swift test` built next to the test bundle.
func bimt(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let buildDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appending(path: ".build")
    let candidates = ["debug", "release"].map { buildDirectory.appending(path: "\($0)/bimt") }
        + [Bundle.main.bundleURL.appending(path: "bimt")]
    let binary = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
                              "no bimt binary under \(buildDirectory.path)")
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile(), error = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
}

@Suite("bimt command line")
struct CLITests {
    @Test("devices lists the CPU path")
    func devices() throws {
        let result = try bimt(["devices"])
        #expect(result.status == 0)
        #expect(result.output.contains("cpu:") && result.output.contains("BLAS"))
    }

    @Test("bench gemm --json prints the documented object")
    func benchGemmJSON() throws {
        let result = try bimt(["bench", "gemm", "--device", "cpu", "--shape", "33x7x129", "--trans", "TN", "--repeat", "2", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let first = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(object["device"] is String)
        #expect(first["m"] as? Int == 33 && first["n"] as? Int == 7 && first["k"] as? Int == 129 && first["trans"] as? String == "TN")
        #expect((first["max_rel_error"] as? Double ?? 1) < 1e-5)
    }

    @Test("bench bimt --json reports every figure")
    func benchBIMTJSON() throws {
        let result = try bimt(["bench", "bimt", "--device", "cpu", "--shape", "16,9,4", "--repeat", "1", "--top-k", "3", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        for key in ["penalty_seconds", "greedy_seconds", "assignment_seconds", "naive_seconds", "speedup_vs_naive"] {
            #expect(object[key] is Double, "\(key) missing")
        }
        // Same decisions, so the same final cost (float32 on the device vs double in the oracle).
        let greedy = try #require(object["cost_after_greedy"] as? Double), naive = try #require(object["cost_after_naive"] as? Double)
        #expect(abs(greedy - naive) <= 1e-6 * naive)
    }

    @Test("bad input is a one-line error and a non-zero exit, never a crash",
          arguments: [
              (["bench", "gemm", "--size", "0"], "--size"),
              (["bench", "gemm", "--shape", "3x4"], "MxNxK"),
              (["bench", "gemm", "--trans", "XY"], "--trans"),
              (["bench", "gemm", "--device", "gpu7"], "available"),
              (["bench", "gemm", "--device", "opencl:9:9", "--size", "8"], "available"),
              (["bench", "bimt", "--shape", "10"], "--shape"),
              (["bench", "bimt", "--layout", "hexagon"], "--layout"),
              (["bench", "bimt", "--top-k", "0"], "--top-k"),
              (["frobnicate"], "frobnicate"),
          ])
    func badInput(arguments: [String], mentions: String) throws {
        let result = try bimt(arguments)
        #expect(result.status != 0 && result.status < 128, "exit \(result.status) for \(arguments)")
        #expect(result.error.contains(mentions), "\(arguments): \(result.error)")
        #expect(!result.error.contains("Fatal error"))
    }
}
