import ArgumentParser
import BIMTCompute
import Foundation

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search the OpenCL GEMM kernel's tunables on a device and store the fastest verified settings.",
        discussion: """
            Each candidate is built, checked against the CPU path on every shape (max \
            |C - C_cpu| / max |C_cpu| within --tolerance; a candidate that fails is never \
            stored) and timed; the score is the geometric mean of GFLOP/s over the shapes \
            (default: the training presets' GEMMs and 256, 512, 1024 squares). The winner is \
            stored per device, platform, driver and kernel variant in gemm-tuning.json beside \
            the kernel cache ($BIMT_GEMM_TUNING_FILE overrides the place), and every later \
            run on that device (train, bench) builds its GEMM with it. BIMT_GEMM_TUNING \
            still overrides single tunables.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(
        name: .customLong("shape"), parsing: .upToNextOption, help: "Shapes MxNxK[:TT] (transposes NN, NT, TN or TT).")
    var shapes: [String] = []
    @Option(help: "Timed runs per shape and candidate.") var `repeat`: Int = 3
    @Option(help: "Largest accepted max |C - C_cpu| / max |C_cpu|.") var tolerance: Double = 1e-4
    @Option(help: "Candidates to try at most (the device's current settings first).") var maxCandidates: Int = 64
    @Flag(help: "Report the winner without storing it.") var dryRun = false

    func validate() throws {
        guard `repeat` >= 1, maxCandidates >= 1, tolerance >= 0 else {
            throw ValidationError("--repeat and --max-candidates must be >= 1 and --tolerance >= 0")
        }
        if (try? deviceOptions.specifier()) == .cpu {
            throw ValidationError(
                "--device cpu does not apply to tune: tuning is for OpenCL devices; the CPU path "
                    + "uses OpenBLAS, which has no tunables here (choose --device opencl or opencl:P:D)")
        }
        _ = try parsedShapes()
    }

    func parsedShapes() throws -> [GemmShape] {
        try shapes.map { text in
            guard let shape = GemmShape(parsing: text) else {
                throw ValidationError("--shape '\(text)' is not MxNxK[:TT] with positive sizes, e.g. 512x256x128:NT")
            }
            return shape
        }
    }

    func run() throws {
        var specifier: DeviceSpecifier
        do { specifier = try deviceOptions.specifier() } catch { throw ValidationError("\(error)") }
        if specifier == .automatic {
            // auto: the GPU `auto` would pick, else the first OpenCL device of any type.
            let picked = try? Device.open(.automatic, gemmTuningStore: GemmTuningStore(url: nil)).device
                .openCLDescription
            specifier = picked.map { .openCL(platform: $0.platformIndex, device: $0.deviceIndex) } ?? .anyOpenCL
        }
        let chosen = try parsedShapes()
        var store = GemmTuningStore.fromEnvironment
        for warning in store.warnings { printError("warning: \(warning)") }
        let report: GemmTuningReport
        do {
            report = try GemmTuner.tune(
                specifier,
                variant: GemmVariant(rawValue: deviceOptions.gemmVariant) ?? .automatic,
                shapes: chosen.isEmpty ? GemmTuner.defaultShapes : chosen, repeats: `repeat`,
                tolerance: tolerance, maxCandidates: maxCandidates, store: &store, dryRun: dryRun,
                progress: { print($0) })
        } catch let error as ComputeError {
            throw RuntimeFailure(error.description)
        }
        guard let winner = report.winner else {
            throw RuntimeFailure("no candidate passed verification; nothing stored (the defaults stay)")
        }
        let settings = winner.values.keys.sorted().map { "\($0)=\(winner.values[$0]!)" }.joined(separator: ",")
        print(
            String(
                format: "best of %d: %@, %.1f GFLOP/s (the device's settings before: %.1f, %.2fx)", report.trials.count,
                settings,
                winner.gflops, winner.defaultGflops, winner.defaultGflops > 0 ? winner.gflops / winner.defaultGflops : 0
            ))
        if dryRun {
            print("not stored (--dry-run)")
        } else {
            print(
                "stored for \(winner.device) (\(winner.platform), driver \(winner.driver)) in \(store.url?.path ?? "?")"
            )
        }
    }
}
