import ArgumentParser
import BIMTCompute
import Foundation

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract:
            "Search the OpenCL GEMM kernel's tunables and the kernels' work-group sizes on a device and store "
            + "the fastest verified settings.",
        discussion: """
            Each candidate is built, checked against the CPU path on every shape (max \
            |C - C_cpu| / max |C_cpu| within --tolerance; a candidate that fails is never \
            stored) and timed; the score is the geometric mean of GFLOP/s over the shapes \
            (default: the training presets' GEMMs and 256, 512, 1024 squares). The winner is \
            stored per device, platform, driver and kernel variant in gemm-tuning.json beside \
            the kernel cache ($BIMT_GEMM_TUNING_FILE overrides the place), and every later \
            run on that device (train, bench) builds its GEMM with it. BIMT_GEMM_TUNING \
            still overrides single tunables.

            Then the work-group sizes of the other kernels (the 2-D kernels' group, the \
            pointwise kernels', the row kernels' and the reductions') are searched the same \
            way on gpt-small-sized LayerNorm, softmax, gradient norm, AdamW and bias kernels \
            (checked against the CPU path, timed; the median of three timings of the best \
            wins) and stored with the GEMM settings (--no-work-groups skips this). \
            BIMT_OPENCL_GROUPS=gpu|cpu overrides the stored sizes.
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
    @Flag(inversion: .prefixedNo, help: "Search the work-group sizes after the GEMM.") var workGroups = true
    @Flag(
        help: ArgumentHelp(
            "Search only the work-group sizes, with the device's stored (or default) GEMM settings, and store "
                + "them with those."))
    var onlyWorkGroups = false
    @Option(
        help: ArgumentHelp(
            "The work-group search's workload: gpt-small (gpt-small's shapes) or small (a quick check of the "
                + "search itself, as the rehearsals run it).", valueName: "size"))
    var workGroupWorkload: String = "gpt-small"

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
        if onlyWorkGroups, !workGroups || !shapes.isEmpty {
            throw ValidationError(
                "--only-work-groups searches the work-group sizes alone: not with --no-work-groups or --shape")
        }
        guard ["gpt-small", "small"].contains(workGroupWorkload) else {
            throw ValidationError("--work-group-workload must be gpt-small or small, got '\(workGroupWorkload)'")
        }
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
        var store = GemmTuningStore.fromEnvironment
        for warning in store.warnings { printError("warning: \(warning)") }
        if onlyWorkGroups {
            let device: Device
            do {
                device = try Device.open(
                    specifier, gemmVariant: GemmVariant(rawValue: deviceOptions.gemmVariant) ?? .automatic,
                    gemmTuningStore: store
                ).device
            } catch let error as ComputeError {
                throw RuntimeFailure(error.description)
            }
            guard var entry = store.entryOrCurrent(for: device) else {
                throw RuntimeFailure("tuning is for OpenCL devices; the CPU path has no work-groups")
            }
            try searchWorkGroups(specifier, entry: &entry, store: &store)
            report(stored: entry, in: store)
            return
        }
        let chosen = try parsedShapes()
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
        var entry = winner
        if workGroups { try searchWorkGroups(specifier, entry: &entry, store: &store) }
        self.report(stored: entry, in: store)
    }

    /// Searches the work-group sizes with `entry`'s GEMM settings; stores the winner in `entry`
    /// (and in `store`, unless --dry-run).
    func searchWorkGroups(
        _ specifier: DeviceSpecifier, entry: inout GemmTuningStore.Entry, store: inout GemmTuningStore
    ) throws {
        let groups: WorkGroupTuningReport
        do {
            groups = try WorkGroupTuner.tune(
                specifier, variant: GemmVariant(rawValue: entry.variant) ?? .automatic,
                gemmTuning: entry.values, repeats: `repeat`, tolerance: tolerance,
                maxCandidates: maxCandidates, size: workGroupWorkload == "small" ? .small : .gptSmall,
                progress: { print($0) })
        } catch let error as ComputeError {
            throw RuntimeFailure(error.description)
        }
        guard let best = groups.winner else {
            printError("warning: no work-group candidate passed verification; the device class's sizes stay")
            return
        }
        let before =
            best.defaultSeconds.map {
                String(format: "%.2f ms, %.2fx", $0 * 1e3, best.seconds > 0 ? $0 / best.seconds : 0)
            } ?? "failed verification"
        print(
            "best work-groups of \(groups.trials.count): \(WorkGroupTuner.describe(best.values)), "
                + String(format: "%.2f ms", best.seconds * 1e3) + " (the device's sizes before: \(before))")
        entry.groups = best.values
        entry.groupSeconds = best.seconds
        entry.defaultGroupSeconds = best.defaultSeconds
        if !dryRun { try store.store(entry) }
    }

    func report(stored entry: GemmTuningStore.Entry, in store: GemmTuningStore) {
        if dryRun {
            print("not stored (--dry-run)")
        } else {
            print(
                "stored for \(entry.device) (\(entry.platform), driver \(entry.driver)) in \(store.url?.path ?? "?")")
        }
    }
}
