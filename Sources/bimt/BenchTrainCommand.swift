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
        let device = try deviceOptions.open()
        var configuration = try options.resolve()
        configuration.steps = Int.max / 4   // the loop never reaches its end; the schedule stays at its start
        var relocationSeconds: Double?
        var chosenSteps = timedSteps
        func measure(_ configuration: TrainingConfiguration) throws -> Double {
            let trainer: Trainer
            do { trainer = try Trainer(configuration: configuration, device: device, runDirectory: nil) } catch let error as BIMTError {
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
            if let warmup {
                for _ in 0..<warmup { try trainer.trainStep() }
                stepSeconds = try timedStep()
            } else {
                try Warmup.settle(timedStep)
                stepSeconds = try timedStep()
            }
            let steps = chosenSteps ?? min(500, max(3, Int(roundSeconds / max(stepSeconds, 1e-9))))
            chosenSteps = steps   // the full loop runs as many steps per round as the bare one
            var rounds: [Double] = []
            for _ in 0..<`repeat` {
                try device.synchronize()
                let start = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<steps { try trainer.trainStep() }
                try device.synchronize()
                rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(steps))
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
        let name = configuration.preset ?? configuration.task.kind
        // Tokens per step for a transformer: every position of every sequence in the batch.
        let batch = configuration.batchSize ?? 1
        let tokens = configuration.model.transformerArchitecture.map { Double(batch * $0.context) }
        if json {
            print("{\"device\": \"\(device.name)\", \"preset\": \"\(name)\", \"seconds_per_step\": \(bareSeconds), "
                  + "\"seconds_per_step_with_swaps_and_eval\": \(fullSeconds)"
                  + (tokens.map { ", \"tokens_per_second\": \($0 / bareSeconds)" } ?? "")
                  + (relocationSeconds.map { ", \"seconds_per_relocation\": \($0)" } ?? "")
                  + ", \"timed_steps_per_round\": \(chosenSteps ?? 0), \"rounds\": \(`repeat`)}")
        } else {
            print("device: \(device.name); preset \(name); medians of \(`repeat`) rounds of \(chosenSteps ?? 0) steps")
            print(String(format: "step: %.4f ms (%.0f steps/s); with relocation every %d and evaluation every %d steps: %.4f ms",
                         bareSeconds * 1000, 1 / bareSeconds, configuration.swapEvery, configuration.logEvery, fullSeconds * 1000))
            if let tokens { print(String(format: "tokens/s: %.0f (%d tokens per step)", tokens / bareSeconds, Int(tokens))) }
            if let relocationSeconds {
                print(String(format: "one %@ relocation: %.2f ms = %.2f%% of the %d steps between relocations",
                             configuration.relocation.method.rawValue, relocationSeconds * 1000,
                             100 * relocationSeconds / (bareSeconds * Double(configuration.swapEvery)), configuration.swapEvery))
            }
        }
    }
}

extension AttentionKernel: ExpressibleByArgument {}
