import BIMTCompute
import Foundation

/// `bimt bench train`: seconds per bare training step of a configuration, then one
/// relocation and one evaluation timed on their own and amortized over the run's periods.
/// Under MPI each rank trains its share of every batch, and rank 0 also gets the
/// communication figures.
public enum TrainingBenchmark {
    /// How the benchmark times.
    public struct Settings: Sendable {
        /// Timed steps per round (nil: enough for `roundSeconds`, 3 to 500).
        public var timedSteps: Int?
        /// Seconds a round should last when `timedSteps` is nil (nil: 2).
        public var roundSeconds: Double?
        /// Untimed steps first (nil: until step times settle; under MPI 5, the same on every rank).
        public var warmup: Int?
        /// Rounds; the median is reported.
        public var rounds: Int
        /// A transformer's attention kernel (nil: fused).
        public var attention: AttentionKernel?

        public init(
            timedSteps: Int? = nil, roundSeconds: Double? = nil, warmup: Int? = nil, rounds: Int = 3,
            attention: AttentionKernel? = nil
        ) {
            self.timedSteps = timedSteps
            self.roundSeconds = roundSeconds
            self.warmup = warmup
            self.rounds = rounds
            self.attention = attention
        }
    }

    /// The communication of a data-parallel step (rank 0's view).
    public struct Communication: Sendable {
        /// Ranks in the job.
        public var ranks: Int
        /// Seconds per step the training thread waited for gradient sums after its backward pass.
        public var exposedSeconds: Double
        /// Seconds per step the sums themselves took.
        public var sumSeconds: Double
        /// Bytes summed per step.
        public var bytesPerStep: Double
        /// Bytes of one gradient.
        public var gradientBytes: Int
        /// One plain MPI_Allreduce of the gradient's size, median.
        public var plainSeconds: Double
    }

    /// What the benchmark measured.
    public struct Result: Sendable {
        /// The device's name.
        public var device: String
        /// The preset's name (or the task's kind).
        public var preset: String
        /// The precision of the matrix products, and why it was chosen.
        public var precision: PrecisionChoice
        /// Median seconds of a bare step.
        public var stepSeconds: Double
        /// Steps in each timed round.
        public var timedStepsPerRound: Int
        /// Rounds timed.
        public var rounds: Int
        /// Median seconds of one evaluation, and the run's steps between evaluations.
        public var evaluationSeconds: Double
        public var evaluationEvery: Int
        /// Median seconds of one relocation, its period and method (nil when the run does not relocate).
        public var relocationSeconds: Double?
        public var relocationEvery: Int?
        public var relocationMethod: String
        /// Tokens per step of a transformer (nil otherwise).
        public var tokensPerStep: Double?
        /// Data-parallel communication (nil alone).
        public var communication: Communication?

        /// The step with one relocation per period and one evaluation per period amortized.
        public var amortizedSeconds: Double {
            var seconds = stepSeconds + evaluationSeconds / Double(evaluationEvery)
            if let relocationSeconds, let relocationEvery { seconds += relocationSeconds / Double(relocationEvery) }
            return seconds
        }

        /// The result as `bimt bench train --json` prints it.
        public var jsonObject: [String: Any] {
            var object: [String: Any] = [
                "device": device, "preset": preset, "precision": precision.precision.rawValue,
                "seconds_per_step": stepSeconds,
                "seconds_per_evaluation": evaluationSeconds, "evaluation_every": evaluationEvery,
                "seconds_per_step_amortized": amortizedSeconds, "timed_steps_per_round": timedStepsPerRound,
                "rounds": rounds,
            ]
            if let relocationSeconds, let relocationEvery {
                object["seconds_per_relocation"] = relocationSeconds
                object["relocation_every"] = relocationEvery
                object["relocation_method"] = relocationMethod
            }
            if let tokensPerStep { object["tokens_per_second"] = tokensPerStep / stepSeconds }
            if let c = communication {
                // Bandwidth as bytes summed per second of sum ("algorithm bandwidth"), for the bucketed exchange
                // and the plain call.
                object["ranks"] = c.ranks
                object["cpu_threads_per_rank"] = Device.cpuThreads
                object["communication_wait_share"] = c.exposedSeconds / stepSeconds
                object["communication_seconds_per_step"] = c.sumSeconds
                object["gradient_bytes"] = c.gradientBytes
                object["bucketed_allreduce_gb_per_s"] = c.bytesPerStep / max(c.sumSeconds, 1e-12) / 1e9
                object["plain_allreduce_seconds"] = c.plainSeconds
                object["plain_allreduce_gb_per_s"] = Double(c.gradientBytes) / max(c.plainSeconds, 1e-12) / 1e9
            }
            return object
        }

        /// The result as `bimt bench train` prints it, line by line.
        public var lines: [String] {
            var lines = [
                "device: \(device); preset \(preset); medians of \(rounds) rounds of \(timedStepsPerRound) steps",
                "precision: \(precision.explanation)",
                String(format: "step: %.4f ms (%.0f steps/s)", stepSeconds * 1000, 1 / stepSeconds),
            ]
            if let tokensPerStep {
                lines.append(
                    String(
                        format: "tokens/s: %.0f (%d tokens per step)", tokensPerStep / stepSeconds,
                        Int(tokensPerStep)))
            }
            if let c = communication {
                lines.append(
                    String(
                        format: "%d ranks x %d CPU thread(s): waited for gradient sums %.2f ms per step "
                            + "(%.1f%% of the step); the sums took %.2f ms (%.2f GB/s of %d bytes); "
                            + "a plain MPI_Allreduce of the same size %.2f ms (%.2f GB/s)",
                        c.ranks, Device.cpuThreads, c.exposedSeconds * 1000,
                        100 * c.exposedSeconds / stepSeconds, c.sumSeconds * 1000,
                        c.bytesPerStep / max(c.sumSeconds, 1e-12) / 1e9, c.gradientBytes,
                        c.plainSeconds * 1000, Double(c.gradientBytes) / max(c.plainSeconds, 1e-12) / 1e9))
            }
            let method = relocationMethod
            let alone =
                String(format: "one evaluation: %.2f ms", evaluationSeconds * 1000)
                + (relocationSeconds.map { "; one \(method) relocation: " + String(format: "%.2f ms", $0 * 1000) }
                    ?? "")
            lines.append(alone + " (each the median of \(rounds) runs on its own)")
            let periods =
                (relocationEvery.map { "one \(method) relocation every \($0) steps and " } ?? "")
                + "one evaluation every \(evaluationEvery) steps"
            lines.append(
                "per step, with \(periods) amortized: "
                    + String(
                        format: "%.4f ms (%+.1f%% over the step)", amortizedSeconds * 1000,
                        100 * (amortizedSeconds / stepSeconds - 1))
                    + "; a run's snapshot frames, metrics rows and checkpoints are not included")
            return lines
        }
    }

    /// Times `configuration`'s training step on `device` (alone, or as one rank of `group`).
    /// The configuration should never reach its last step (its schedules stay at their start);
    /// the trainer neither relocates nor evaluates inside the timed steps. Every rank returns
    /// the result; only rank 0's communication figures are its own.
    public static func run(
        _ configuration: TrainingConfiguration, on device: Device, group: MPIProcessGroup?,
        settings: Settings
    ) throws -> Result {
        let rank = group?.rank ?? 0
        // The run's periods, for the amortized figure. The trainer itself never relocates or evaluates (both are
        // timed on their own below), so every timed step is a bare one.
        let relocationPeriod = configuration.relocation.method == .off ? nil : configuration.swapEvery
        var quiet = configuration
        quiet.swapEvery = SizeLimits.steps
        quiet.logEvery = SizeLimits.steps
        let trainer = try Trainer(configuration: quiet, device: device, runDirectory: nil, processGroup: group)
        (trainer.model as? GPT)?.attentionKernel = settings.attention ?? .fused
        let seconds = device.seconds
        func timedStep() throws -> Double { try seconds { _ = try trainer.trainStep() } }

        // Warm-up: the given steps (under mpirun 5 by default: ranks take the same steps), else until step times
        // settle; then one timed step, which sizes the rounds (rank 0's choice, under mpirun).
        if let warmup = settings.warmup ?? (group == nil ? nil : 5) {
            for _ in 0..<warmup { try trainer.trainStep() }
        } else {
            try Warmup.settle(timedStep)
        }
        var stepSeconds = try timedStep()
        if let group {
            stepSeconds = try group.sum([rank == 0 ? stepSeconds : 0], "the bench's round length")[0]
        }
        let steps =
            settings.timedSteps
            ?? min(500, max(3, Int((settings.roundSeconds ?? 2) / max(stepSeconds, 1e-9))))
        var rounds: [Double] = []
        let exchangeBefore = trainer.exchangeStatistics, sumsBefore = group?.sumStatistics
        for _ in 0..<settings.rounds {
            let elapsed = try seconds { for _ in 0..<steps { try trainer.trainStep() } }
            rounds.append(elapsed / Double(steps))
        }
        let bareSeconds = median(rounds)

        // One evaluation and one relocation on their own: the median of the rounds after an untimed one (which
        // builds their kernels). A relocation is timed as training runs it: the finiteness check, then the
        // relocation (scores, decisions, permuting weights, AdamW moments and data).
        func medianSeconds(_ body: () throws -> Void) throws -> Double {
            try body()
            var times: [Double] = []
            for _ in 0..<settings.rounds { times.append(try seconds(body)) }
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

        var communication: Communication?
        if let group, let before = exchangeBefore, let after = trainer.exchangeStatistics, let sumsBefore {
            let sumsAfter = group.sumStatistics
            let exchanged = Double(after.steps - before.steps)
            // The plain MPI_Allreduce of the gradient's size, in the same run (median of the rounds after one warmup).
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: after.gradientBytes / 4)
            defer { values.deallocate() }
            values.initialize(repeating: 1)
            var times: [Double] = []
            for _ in 0...settings.rounds { times.append(try group.plainSum(values)) }
            communication = Communication(
                ranks: group.size, exposedSeconds: (after.exposedSeconds - before.exposedSeconds) / exchanged,
                sumSeconds: (sumsAfter.seconds - sumsBefore.seconds) / exchanged,
                bytesPerStep: Double(sumsAfter.bytes - sumsBefore.bytes) / exchanged,
                gradientBytes: after.gradientBytes, plainSeconds: median(Array(times.dropFirst())))
        }
        // Tokens per step for a transformer: every position of every sequence in the batch.
        let batch = configuration.batchSize ?? 1
        return Result(
            device: device.name, preset: configuration.preset ?? configuration.task.kind, precision: trainer.precision,
            stepSeconds: bareSeconds, timedStepsPerRound: steps, rounds: settings.rounds,
            evaluationSeconds: evaluationSeconds, evaluationEvery: configuration.logEvery,
            relocationSeconds: relocationSeconds, relocationEvery: relocationPeriod,
            relocationMethod: configuration.relocation.method.rawValue,
            tokensPerStep: configuration.model.transformerArchitecture.map { Double(batch * $0.context) },
            communication: communication)
    }
}
