import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Seconds per training step of a preset (forward, backward, connection cost, AdamW).",
        discussion: """
            Times the bare training step (no relocation, no evaluation): it first warms up until \
            step times settle (or --warmup steps), then takes the median of --repeat rounds of \
            --timed-steps steps (default: as many as fill --round-seconds, 3 to 500), so a large \
            model finishes in bounded time. Then it times one relocation (with the finiteness \
            check training runs before it) and one evaluation on the test split on their own, \
            each the median of --repeat runs after an untimed one, and reports the step time \
            with them amortized: step + relocation / swapEvery + evaluation / logEvery (the \
            preset's periods, or --swap-every and --log-every; a run's snapshot frames, metrics \
            rows and checkpoints are not included). JSON: seconds_per_step, \
            seconds_per_relocation and relocation_every (when the preset relocates), \
            seconds_per_evaluation, evaluation_every and seconds_per_step_amortized. Flags for \
            what the bench never does (--steps, --checkpoint-every, relocation settings when \
            relocation is off, ...) are refused.

            Under mpirun each rank trains its share of every batch (a node's cores are divided \
            between its ranks): the step time is then a global batch's, and rank 0 also reports \
            the communication: the share of the step the training thread waited for gradient \
            sums after its backward pass, the sums' own time and bandwidth, and a plain \
            MPI_Allreduce of the same size timed in the same run. Warmup is then --warmup steps \
            (default 5), the same on every rank.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var options: TrainingFlags
    @Option(help: "Timed steps per round (default: enough for --round-seconds, 3 to 500).") var timedSteps: Int?
    @Option(help: "Seconds a round should last when --timed-steps is not given (default: 2).") var roundSeconds: Double?
    @Option(help: "Untimed steps first (default: until step times settle, at most 20 s).") var warmup: Int?
    @Option(help: "Rounds; the median is reported.") var `repeat`: Int = 3
    @Option(
        help: """
            A transformer's attention: fused (no [length, length] scores stored; the default) or unfused (the per-head \
            GEMMs and stored probabilities it replaced), to compare the two.
            """)
    var attention: AttentionKernel?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (timedSteps ?? 1) >= 1, (warmup ?? 0) >= 0, `repeat` >= 1, (roundSeconds ?? 1) > 0 else {
            throw ValidationError("--timed-steps and --repeat must be >= 1, --warmup >= 0 and --round-seconds > 0")
        }
        if timedSteps != nil, roundSeconds != nil {
            throw ValidationError(
                "--round-seconds does not apply with --timed-steps: it only chooses the steps per "
                    + "round when --timed-steps is not given; drop one of the two")
        }
        // Training flags for what the bench never does: a run of a set length, checkpoints, snapshots.
        if options.steps != nil {
            throw ValidationError(
                "--steps does not apply to bench train: it never runs to an end, it times its own "
                    + "steps (--warmup untimed, then --repeat rounds of --timed-steps); give those "
                    + "instead")
        }
        if options.checkpointEvery != nil {
            throw ValidationError("--checkpoint-every does not apply to bench train: it writes no checkpoints; drop it")
        }
        if options.snapshotBudget != nil {
            throw ValidationError(
                "--snapshot-budget does not apply to bench train: it writes no snapshots for "
                    + "'bimt view'; drop it")
        }
        let configuration = try resolvedConfiguration()
        let name = configuration.preset ?? configuration.task.kind
        if let attention, configuration.model.transformerArchitecture == nil {
            throw ValidationError(
                "--attention \(attention.rawValue) does not apply: \(name) trains "
                    + "\(configuration.model.familyName), which has no attention; drop --attention")
        }
        // Settings of the relocation, where the run does not relocate (or, for --top-k, does not search greedily).
        let method = configuration.relocation.method
        if method == .off {
            let relocationFlags: [(given: Bool, flag: String)] = [
                (options.topK != nil, "--top-k"), (options.swapEvery != nil, "--swap-every"),
                (options.relocationWeightFactor != nil, "--relocation-weight-factor"),
                (options.relocationLastWeightFactor != nil, "--relocation-last-weight-factor"),
                (options.relocationReduction != nil, "--relocation-reduction"),
                (options.paperOptimizerState, "--paper-optimizer-state"),
            ]
            for (given, flag) in relocationFlags where given {
                throw ValidationError(
                    "\(flag) does not apply: relocation is off for \(name) (its preset, --config or "
                        + "--relocation off), so nothing is relocated or timed; drop \(flag), or give "
                        + "--relocation greedy or assignment")
            }
        } else if method != .greedy, options.topK != nil {
            throw ValidationError(
                "--top-k does not apply: it sets the greedy search's candidates, and \(name) "
                    + "relocates by \(method.rawValue); drop --top-k, or give --relocation greedy")
        }
        // The training cost, where lambda is 0 (the bench's steps stay at the start of its schedule): the bench then
        // never computes it (it takes no log steps). The swap search uses only the wf * distance part of its own cost.
        if configuration.options.lambda(at: 0) == 0 {
            var costFlags: [(given: Bool, flag: String)] = [
                (options.l0 != nil, "--l0"), (options.lastWeightFactor != nil, "--last-weight-factor"),
                (options.penalizeBiases != nil, "--penalize-biases"),
            ]
            if method == .off {
                costFlags += [
                    (options.weightFactor != nil, "--weight-factor"),
                    (options.reduction != nil, "--reduction"),
                ]
            }
            for (given, flag) in costFlags where given {
                throw ValidationError(
                    "\(flag) does not apply: lambda is 0 for \(name), so bench train never computes "
                        + "the training cost it sets, and "
                        + (method == .off ? "relocation is off" : "the swap search does not use it")
                        + "; drop \(flag), or give --lambda above 0")
            }
        }
    }

    /// The flags' configuration for a run that never reaches its last step: its schedules
    /// (learning rate, lambda, bias penalty) stay at their start.
    func resolvedConfiguration() throws -> TrainingConfiguration {
        var flags = options
        flags.steps = SizeLimits.steps
        return try flags.resolve()
    }

    func run() throws {
        do {
            try TrainingLaunch.run(rankTimeout: 120) { group in
                let device = try deviceOptions.open(
                    localRank: group?.localRank ?? 0, of: group?.localSize ?? 1,
                    rank: group?.rank)
                let settings = TrainingBenchmark.Settings(
                    timedSteps: timedSteps, roundSeconds: roundSeconds,
                    warmup: warmup, rounds: `repeat`, attention: attention)
                let result: TrainingBenchmark.Result
                do {
                    result = try TrainingBenchmark.run(
                        try resolvedConfiguration(), on: device, group: group,
                        settings: settings)
                } catch let error as BIMTError {
                    throw TrainingFlags.failure(error)
                }
                guard (group?.rank ?? 0) == 0 else { return }
                if json {
                    let data = try JSONSerialization.data(withJSONObject: result.jsonObject, options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    result.lines.forEach { print($0) }
                }
            }
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
    }
}

extension AttentionKernel: ExpressibleByArgument {}
