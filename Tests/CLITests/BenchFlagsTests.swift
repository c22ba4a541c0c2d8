import Foundation
import Testing

@Suite("bimt bench: flags that do not apply, and the amortized step")
struct BenchFlagsTests {
    @Test(
        "a flag the command would ignore is a usage error (exit 64) that names it",
        arguments: [
            (
                ["bench", "gemm", "--device", "cpu", "--gemm-variant", "tiled"],
                "--gemm-variant tiled does not apply to --device cpu"
            ),
            (
                ["bench", "bimt", "--device", "cpu", "--gemm-variant", "vector"],
                "--gemm-variant vector does not apply"
            ),
            (
                ["bench", "attention", "--device", "cpu", "--gemm-variant", "tiled"],
                "--gemm-variant tiled does not apply"
            ),
            (["bench", "train", "--device", "cpu", "--gemm-variant", "tiled"], "--gemm-variant tiled does not apply"),
            // One check in the shared device options covers every command that opens a device.
            (
                ["train", "--device", "cpu", "--gemm-variant", "vector", "--dry-run"],
                "--gemm-variant vector does not apply"
            ),
            (
                ["analyze", "/nonexistent", "--device", "cpu", "--gemm-variant", "tiled"],
                "--gemm-variant tiled does not apply"
            ),
            (["bench", "train", "--steps", "10"], "--steps does not apply"),
            (["bench", "train", "--checkpoint-every", "10"], "--checkpoint-every does not apply"),
            (["bench", "train", "--snapshot-budget", "1"], "--snapshot-budget does not apply"),
            (["bench", "train", "--timed-steps", "3", "--round-seconds", "1"], "--round-seconds does not apply"),
            (
                ["bench", "train", "--preset", "independence", "--attention", "unfused"],
                "--attention unfused does not apply"
            ),
            (["bench", "train", "--relocation", "off", "--swap-every", "10"], "--swap-every does not apply"),
            (["bench", "train", "--relocation", "off", "--top-k", "3"], "--top-k does not apply"),
            (
                ["bench", "train", "--relocation", "off", "--paper-optimizer-state"],
                "--paper-optimizer-state does not apply"
            ),
            (["bench", "train", "--relocation", "assignment", "--top-k", "3"], "--top-k does not apply"),
            (["bench", "train", "--lambda", "0", "--l0", "0.5"], "--l0 does not apply"),
            (
                ["bench", "train", "--lambda", "0", "--relocation", "off", "--weight-factor", "2"],
                "--weight-factor does not apply"
            ),
            (["tune", "--device", "cpu"], "tuning is for OpenCL devices"),
            // Sizes whose buffers no kernel can index (they used to overflow or allocate tens of GB).
            (["bench", "gemm", "--device", "cpu", "--size", "4000000000"], "--size/--shape"),
            (["bench", "gemm", "--device", "cpu", "--shape", "100000x100000x8"], "past the 2^31 - 1"),
            (["bench", "bimt", "--device", "cpu", "--shape", "100000,100000,10"], "past the 2^31 - 1"),
            (
                ["bench", "attention", "--device", "cpu", "--length", "100000", "--sequences", "64"],
                "past the 2^31 - 1"
            ),
        ])
    func refused(arguments: [String], message: String) throws {
        let result = try bimt(arguments)
        #expect(result.status == 64, "exit \(result.status) for \(arguments): \(result.error)")
        #expect(result.error.contains(message), "\(arguments): \(result.error)")
    }

    @Test(
        "flags that apply are accepted",
        arguments: [
            [
                "--relocation", "assignment", "--swap-every", "10", "--log-every", "10", "--timed-steps", "3",
                "--warmup", "1",
            ],
            ["--round-seconds", "0.2", "--warmup", "1"],
            ["--lambda", "0", "--weight-factor", "2", "--timed-steps", "3", "--warmup", "1"],
        ])
    func accepted(arguments: [String]) throws {
        let base = ["bench", "train", "--preset", "independence", "--device", "cpu", "--repeat", "1", "--json"]
        let result = try bimt(base + arguments)
        #expect(result.status == 0, "exit \(result.status) for \(arguments): \(result.error)")
    }

    @Test("bench train adds one relocation and one evaluation, each timed alone, amortized over their periods")
    func amortized() throws {
        let arguments = [
            "bench", "train", "--preset", "independence", "--device", "cpu", "--timed-steps", "3",
            "--warmup", "1", "--repeat", "1", "--swap-every", "50", "--log-every", "20",
        ]
        let result = try bimt(arguments + ["--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let step = try #require(object["seconds_per_step"] as? Double)
        let relocation = try #require(object["seconds_per_relocation"] as? Double)
        let evaluation = try #require(object["seconds_per_evaluation"] as? Double)
        let amortized = try #require(object["seconds_per_step_amortized"] as? Double)
        #expect(object["relocation_every"] as? Int == 50 && object["evaluation_every"] as? Int == 20)
        #expect(relocation > 0 && evaluation > 0)
        #expect(abs(amortized - (step + relocation / 50 + evaluation / 20)) <= 1e-6 * amortized)
        let text = try bimt(arguments)
        #expect(text.status == 0, "\(text.error)")
        #expect(
            text.output.contains(
                "per step, with one greedy relocation every 50 steps and one evaluation every 20 "
                    + "steps amortized:"), "\(text.output)")
    }
}
