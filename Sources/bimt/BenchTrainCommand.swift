import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Seconds per training step of a preset (forward, backward, penalty, AdamW).",
        discussion: """
            Times the training step twice: the bare step (no relocation, no evaluation) and the \
            preset's full loop (its relocations every swapEvery steps and its evaluations every \
            logEvery steps included). Each measurement first warms up until step times settle \
            (or --warmup steps), then takes the median of --repeat rounds of --timed-steps steps \
            (default: as many as fill --round-seconds, 3 to 500), so a large model finishes in \
            bounded time.

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
    @Option(help: "Seconds a round should last when --timed-steps is not given.") var roundSeconds: Double = 2
    @Option(help: "Untimed steps first (default: until step times settle, at most 20 s).") var warmup: Int?
    @Option(help: "Rounds; the median is reported.") var `repeat`: Int = 3
    @Option(help: "A transformer's attention: fused (no [length, length] scores stored) or unfused (the per-head GEMMs and stored probabilities it replaced), to compare the two.")
    var attention: AttentionKernel = .fused
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard (timedSteps ?? 1) >= 1, (warmup ?? 0) >= 0, `repeat` >= 1, roundSeconds > 0 else {
            throw ValidationError("--timed-steps and --repeat must be >= 1, --warmup >= 0 and --round-seconds > 0")
        }
    }

    func run() throws {
        let group: MPIProcessGroup?
        do { group = try MPIProcessGroup.start(timeout: 120) } catch let error as BIMTError { throw RuntimeFailure(error.description) }
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
        let device = try deviceOptions.open(localRank: group?.localRank ?? 0, of: group?.localSize ?? 1, rank: group?.rank)
        var configuration = try options.resolve()
        configuration.steps = Int.max / 4   // the loop never reaches its end; the schedule stays at its start
        var relocationSeconds: Double?
        var chosenSteps = timedSteps
        var communication: (exposed: Double, sums: Double, bytes: Double, gradientBytes: Int)?
        func measure(_ configuration: TrainingConfiguration) throws -> Double {
            let trainer: Trainer
            do { trainer = try Trainer(configuration: configuration, device: device, runDirectory: nil, processGroup: group) } catch let error as BIMTError {
                throw RuntimeFailure(TrainingFlags.message(error))
            }
            (trainer.model as? GPT)?.attentionKernel = attention
            func timedStep() throws -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                try trainer.trainStep()
                try device.synchronize()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            var stepSeconds: Double
            if let warmup = warmup ?? (group == nil ? nil : 5) {
                // Ranks take the same steps: a fixed warmup, and rank 0's choice of round length.
                for _ in 0..<warmup { try trainer.trainStep() }
                stepSeconds = try timedStep()
                if let group {
                    stepSeconds = try group.sum([rank == 0 ? stepSeconds : 0], "the bench's round length")[0]
                }
            } else {
                try Warmup.settle(timedStep)
                stepSeconds = try timedStep()
            }
            let steps = chosenSteps ?? min(500, max(3, Int(roundSeconds / max(stepSeconds, 1e-9))))
            chosenSteps = steps   // the full loop runs as many steps per round as the bare one
            var rounds: [Double] = []
            let exchangeBefore = trainer.exchangeStatistics, sumsBefore = group?.sumStatistics
            for _ in 0..<`repeat` {
                try device.synchronize()
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<steps { try trainer.trainStep() }
                try device.synchronize()
                rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps))
            }
            if communication == nil, let before = exchangeBefore, let after = trainer.exchangeStatistics, let sumsBefore,
               let sumsAfter = group?.sumStatistics {
                let steps = Double(after.steps - before.steps)
                communication = ((after.exposedSeconds - before.exposedSeconds) / steps, (sumsAfter.seconds - sumsBefore.seconds) / steps,
                                 Double(sumsAfter.bytes - sumsBefore.bytes) / steps, after.gradientBytes)
            }
            if configuration.relocation.method != .off {
                // One relocation alone (scores, decisions, permuting weights and moments), median of --repeat.
                var times: [Double] = []
                for _ in 0..<`repeat` {
                    try device.synchronize()
                    let start = DispatchTime.now().uptimeNanoseconds
                    try trainer.relocate()
                    try device.synchronize()
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                relocationSeconds = median(times)
            }
            return median(rounds)
        }
        var bare = configuration
        bare.relocation.method = .off
        bare.logEvery = Int.max / 2
        let bareSeconds = try measure(bare), fullSeconds = try measure(configuration)
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
        // Bandwidth as bytes summed per second of sum ("algorithm bandwidth"), for the bucketed exchange and the plain call.
        let mpi = communication.map { c -> String in
            let share = c.exposed / bareSeconds, bucketed = c.bytes / max(c.sums, 1e-12) / 1e9
            let plain = plainSeconds.map { Double(c.gradientBytes) / max($0, 1e-12) / 1e9 } ?? 0
            return String(format: "\"ranks\": %d, \"cpu_threads_per_rank\": %d, \"communication_wait_share\": %.4f, "
                          + "\"communication_seconds_per_step\": %.6f, \"gradient_bytes\": %d, \"bucketed_allreduce_gb_per_s\": %.3f, "
                          + "\"plain_allreduce_seconds\": %.6f, \"plain_allreduce_gb_per_s\": %.3f",
                          ranks, Device.cpuThreads, share, c.sums, c.gradientBytes, bucketed, plainSeconds ?? 0, plain)
        }
        // Tokens per step for a transformer: every position of every sequence in the batch.
        let batch = configuration.batchSize ?? 1
        let tokens = configuration.model.transformerArchitecture.map { Double(batch * $0.context) }
        if json {
            print("{\"device\": \"\(device.name)\", \"preset\": \"\(name)\", \"seconds_per_step\": \(bareSeconds), "
                  + (mpi.map { $0 + ", " } ?? "")
                  + "\"seconds_per_step_with_swaps_and_eval\": \(fullSeconds)"
                  + (tokens.map { ", \"tokens_per_second\": \($0 / bareSeconds)" } ?? "")
                  + (relocationSeconds.map { ", \"seconds_per_relocation\": \($0)" } ?? "")
                  + ", \"timed_steps_per_round\": \(chosenSteps ?? 0), \"rounds\": \(`repeat`)}")
        } else {
            print("device: \(device.name); preset \(name); medians of \(`repeat`) rounds of \(chosenSteps ?? 0) steps")
            print(String(format: "step: %.4f ms (%.0f steps/s); with relocation every %d and evaluation every %d steps: %.4f ms",
                         bareSeconds * 1000, 1 / bareSeconds, configuration.swapEvery, configuration.logEvery, fullSeconds * 1000))
            if let tokens { print(String(format: "tokens/s: %.0f (%d tokens per step)", tokens / bareSeconds, Int(tokens))) }
            if let c = communication {
                print(String(format: "%d ranks x %d CPU thread(s): waited for gradient sums %.2f ms per step (%.1f%% of the step); "
                             + "the sums took %.2f ms (%.2f GB/s of %d bytes); a plain MPI_Allreduce of the same size %.2f ms (%.2f GB/s)",
                             ranks, Device.cpuThreads, c.exposed * 1000, 100 * c.exposed / bareSeconds, c.sums * 1000,
                             c.bytes / max(c.sums, 1e-12) / 1e9, c.gradientBytes, (plainSeconds ?? 0) * 1000,
                             Double(c.gradientBytes) / max(plainSeconds ?? 0, 1e-12) / 1e9))
            }
            if let relocationSeconds {
                print(String(format: "one %@ relocation: %.2f ms = %.2f%% of the %d steps between relocations",
                             configuration.relocation.method.rawValue, relocationSeconds * 1000,
                             100 * relocationSeconds / (bareSeconds * Double(configuration.swapEvery)), configuration.swapEvery))
            }
        }
    }
}

extension AttentionKernel: ExpressibleByArgument {}
