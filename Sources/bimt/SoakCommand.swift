import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak",
        abstract: "Train with relocations and checkpoints for a while; fail if live buffers or resident memory grow.",
        discussion:
            "Passes when the live buffer count is constant and resident memory grows by less than 1 % "
            + "after the warm-up."
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(help: "Untimed steps before the baseline is taken.") var warmup: Int = 1000
    @Option(help: "Steps after the warm-up.") var steps: Int?
    @Option(help: "Minutes after the warm-up (instead of --steps).") var minutes: Double?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (steps == nil) != (minutes == nil) else {
            throw ValidationError("give exactly one of --steps and --minutes")
        }
        guard warmup >= 1, (steps ?? 1) >= 1, (minutes ?? 1) > 0 else {
            throw ValidationError("--warmup, --steps and --minutes must be positive")
        }
    }

    func run() throws {
        let device = try deviceOptions.open()
        let report = try Soak.run(device: device, warmup: warmup, steps: steps, seconds: minutes.map { $0 * 60 })
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(
                String(
                    format: "%@: %d steps in %.0f s; live buffers %d -> %d; resident %.1f -> %.1f MiB (%+.3f %%): %@",
                    report.device, report.steps, report.seconds, report.buffersAfterWarmup, report.buffersAtEnd,
                    Double(report.residentBytesAfterWarmup) / 1_048_576, Double(report.residentBytesAtEnd) / 1_048_576,
                    100 * report.residentGrowth, report.passed ? "PASS" : "FAIL"))
        }
        if !report.passed { throw ExitCode(1) }
    }
}
