import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Seconds per training step of a preset (forward, backward, penalty, AdamW).",
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
    @Option(help: """
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
            throw ValidationError("--round-seconds does not apply with --timed-steps: it only chooses the steps per "
                                  + "round when --timed-steps is not given; drop one of the two")
        }
        // Training flags for what the bench never does: a run of a set length, checkpoints, snapshots.
        if options.steps != nil {
            throw ValidationError("--steps does not apply to bench train: it never runs to an end, it times its own "
                                  + "steps (--warmup untimed, then --repeat rounds of --timed-steps); give those "
                                  + "instead")
        }
        if options.checkpointEvery != nil {
            throw ValidationError("--checkpoint-every does not apply to bench train: it writes no checkpoints; drop it")
        }
        if options.snapshotBudget != nil {
            throw ValidationError("--snapshot-budget does not apply to bench train: it writes no snapshots for "
                                  + "'bimt view'; drop it")
        }
        let configuration = try resolvedConfiguration()
        let name = configuration.preset ?? configuration.task.kind
        if let attention, configuration.model.transformerArchitecture == nil {
            throw ValidationError("--attention \(attention.rawValue) does not apply: \(name) trains "
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
                throw ValidationError("\(flag) does not apply: relocation is off for \(name) (its preset, --config or "
                                      + "--relocation off), so nothing is relocated or timed; drop \(flag), or give "
                                      + "--relocation greedy or assignment")
            }
        } else if method != .greedy, options.topK != nil {
            throw ValidationError("--top-k does not apply: it sets the greedy search's candidates, and \(name) "
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
                costFlags += [(options.weightFactor != nil, "--weight-factor"),
                              (options.reduction != nil, "--reduction")]
            }
            for (given, flag) in costFlags where given {
                throw ValidationError("\(flag) does not apply: lambda is 0 for \(name), so bench train never computes "
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
        let group: MPIProcessGroup?
        do {
            group = try MPIProcessGroup.start(timeout: 120)
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
        guard let group else { return try bench(group: nil) }
        do {
            Device.limitCPUThreads(Device.cpuThreads / group.localSize)
            try bench(group: group)
        } catch {
            group.abort("\(error)")
        }
        group.finish()
    }

    func bench(group: MPIProcessGroup?) throws {
        let rank = group?.rank ?? 0
        let device = try deviceOptions.open(localRank: group?.localRank ?? 0, of: group?.localSize ?? 1,
                                            rank: group?.rank)
        let configuration = try resolvedConfiguration()
        // The run's periods, for the amortized figure. The trainer itself never relocates or evaluates (both are
        // timed on their own below), so every timed step is a bare one.
        let relocationPeriod = configuration.relocation.method == .off ? nil : configuration.swapEvery
        let evaluationPeriod = configuration.logEvery
        var quiet = configuration
        quiet.swapEvery = SizeLimits.steps
        quiet.logEvery = SizeLimits.steps
        let trainer: Trainer
        do {
            trainer = try Trainer(configuration: quiet, device: device, runDirectory: nil, processGroup: group)
        } catch let error as BIMTError {
            throw TrainingFlags.failure(error)
        }
        (trainer.model as? GPT)?.attentionKernel = attention ?? .fused
        let seconds = device.seconds
        func timedStep() throws -> Double { try seconds { _ = try trainer.trainStep() } }

        // Warm-up: --warmup steps (under mpirun 5 by default: ranks take the same steps), else until step times
        // settle; then one timed step, which sizes the rounds (rank 0's choice, under mpirun).
        if let warmup = warmup ?? (group == nil ? nil : 5) {
            for _ in 0..<warmup { try trainer.trainStep() }
        } else {
            try Warmup.settle(timedStep)
        }
        var stepSeconds = try timedStep()
        if let group {
            stepSeconds = try group.sum([rank == 0 ? stepSeconds : 0], "the bench's round length")[0]
        }
        let steps = timedSteps ?? min(500, max(3, Int((roundSeconds ?? 2) / max(stepSeconds, 1e-9))))
        var rounds: [Double] = []
        let exchangeBefore = trainer.exchangeStatistics, sumsBefore = group?.sumStatistics
        for _ in 0..<`repeat` {
            let elapsed = try seconds { for _ in 0..<steps { try trainer.trainStep() } }
            rounds.append(elapsed / Double(steps))
        }
        let bareSeconds = median(rounds)
        var communication: (exposed: Double, sums: Double, bytes: Double, gradientBytes: Int)?
        if let before = exchangeBefore, let after = trainer.exchangeStatistics, let sumsBefore,
           let sumsAfter = group?.sumStatistics {
            let steps = Double(after.steps - before.steps)
            communication = ((after.exposedSeconds - before.exposedSeconds) / steps,
                             (sumsAfter.seconds - sumsBefore.seconds) / steps,
                             Double(sumsAfter.bytes - sumsBefore.bytes) / steps, after.gradientBytes)
        }

        // One evaluation and one relocation on their own: the median of --repeat runs after an untimed one (which
        // builds their kernels). A relocation is timed as training runs it: the finiteness check, then the
        // relocation (scores, decisions, permuting weights, AdamW moments and data).
        func medianSeconds(_ body: () throws -> Void) throws -> Double {
            try body()
            var times: [Double] = []
            for _ in 0..<`repeat` { times.append(try seconds(body)) }
            return median(times)
        }
        let evaluationSeconds = try medianSeconds { _ = try trainer.evaluateWithLast() }
        var relocationSeconds: Double?
        if relocationPeriod != nil {
            relocationSeconds = try medianSeconds {
                try trainer.requireFinite()
                try trainer.relocate()
            }
        }
        var amortizedSeconds = bareSeconds + evaluationSeconds / Double(evaluationPeriod)
        if let relocationSeconds, let relocationPeriod {
            amortizedSeconds += relocationSeconds / Double(relocationPeriod)
        }

        // The plain MPI_Allreduce of the gradient's size, in the same run (median of --repeat after one warmup).
        var plainSeconds: Double?
        if let group, let communication {
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: communication.gradientBytes / 4)
            defer { values.deallocate() }
            values.initialize(repeating: 1)
            var times: [Double] = []
            for _ in 0...`repeat` { times.append(try group.plainSum(values)) }
            plainSeconds = median(Array(times.dropFirst()))
        }
        guard rank == 0 else { return }
        let name = configuration.preset ?? configuration.task.kind
        let ranks = group?.size ?? 1
        let method = configuration.relocation.method.rawValue
        // Tokens per step for a transformer: every position of every sequence in the batch.
        let batch = configuration.batchSize ?? 1
        let tokens = configuration.model.transformerArchitecture.map { Double(batch * $0.context) }
        if json {
            var object: [String: Any] = [
                "device": device.name, "preset": name, "seconds_per_step": bareSeconds,
                "seconds_per_evaluation": evaluationSeconds, "evaluation_every": evaluationPeriod,
                "seconds_per_step_amortized": amortizedSeconds, "timed_steps_per_round": steps, "rounds": `repeat`,
            ]
            if let relocationSeconds, let relocationPeriod {
                object["seconds_per_relocation"] = relocationSeconds
                object["relocation_every"] = relocationPeriod
                object["relocation_method"] = method
            }
            if let tokens { object["tokens_per_second"] = tokens / bareSeconds }
            if let c = communication {
                // Bandwidth as bytes summed per second of sum ("algorithm bandwidth"), for the bucketed exchange
                // and the plain call.
                object["ranks"] = ranks
                object["cpu_threads_per_rank"] = Device.cpuThreads
                object["communication_wait_share"] = c.exposed / bareSeconds
                object["communication_seconds_per_step"] = c.sums
                object["gradient_bytes"] = c.gradientBytes
                object["bucketed_allreduce_gb_per_s"] = c.bytes / max(c.sums, 1e-12) / 1e9
                object["plain_allreduce_seconds"] = plainSeconds ?? 0
                object["plain_allreduce_gb_per_s"] =
                    plainSeconds.map { Double(c.gradientBytes) / max($0, 1e-12) / 1e9 } ?? 0
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("device: \(device.name); preset \(name); medians of \(`repeat`) rounds of \(steps) steps")
            print(String(format: "step: %.4f ms (%.0f steps/s)", bareSeconds * 1000, 1 / bareSeconds))
            if let tokens {
                print(String(format: "tokens/s: %.0f (%d tokens per step)", tokens / bareSeconds, Int(tokens)))
            }
            if let c = communication {
                print(String(format: "%d ranks x %d CPU thread(s): waited for gradient sums %.2f ms per step "
                             + "(%.1f%% of the step); the sums took %.2f ms (%.2f GB/s of %d bytes); "
                             + "a plain MPI_Allreduce of the same size %.2f ms (%.2f GB/s)",
                             ranks, Device.cpuThreads, c.exposed * 1000, 100 * c.exposed / bareSeconds, c.sums * 1000,
                             c.bytes / max(c.sums, 1e-12) / 1e9, c.gradientBytes, (plainSeconds ?? 0) * 1000,
                             Double(c.gradientBytes) / max(plainSeconds ?? 0, 1e-12) / 1e9))
            }
            let alone = String(format: "one evaluation: %.2f ms", evaluationSeconds * 1000)
                + (relocationSeconds.map { "; one \(method) relocation: " + String(format: "%.2f ms", $0 * 1000) }
                   ?? "")
            print(alone + " (each the median of \(`repeat`) runs on its own)")
            let periods = (relocationPeriod.map { "one \(method) relocation every \($0) steps and " } ?? "")
                + "one evaluation every \(evaluationPeriod) steps"
            print("per step, with \(periods) amortized: "
                  + String(format: "%.4f ms (%+.1f%% over the step)", amortizedSeconds * 1000,
                           100 * (amortizedSeconds / bareSeconds - 1))
                  + "; a run's snapshot frames, metrics rows and checkpoints are not included")
        }
    }
}

extension AttentionKernel: ExpressibleByArgument {}
