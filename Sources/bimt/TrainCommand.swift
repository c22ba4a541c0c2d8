import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an MLP, conv net or transformer with BIMT (default: the paper's independence experiment).",
        discussion: """
            The run directory (--out, default runs/PRESET-TIME) receives config.json, metrics.csv and \
            checkpoint.safetensors (PyTorch-readable: layers.{i}.weight, layers.{i}.bias, embedding, \
            in_perm, out_perm). --resume DIR continues a run; --init FILE starts from given weights.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var options: TrainingFlags

    @Option(help: "Run directory.") var out: String?
    @Option(help: "Continue the run in this directory.") var resume: String?
    @Option(
        name: .customLong("init"),
        help: "Start from the weights in this safetensors file (layers.{i}.weight/bias, embedding, in_perm/out_perm).")
    var initFrom: String?
    @Flag(help: "Print only the summary.") var quiet = false
    @Flag(
        help:
            "Rewrite RUN/view.html (bimt view's page) at every checkpoint: refresh the browser to see where the run is."
    )
    var view = false
    @Flag(
        help: """
            Read the data, print the memory plan (parameters, optimizer state, data, activations) and exit \
            without training.
            """
    )
    var dryRun = false
    @Option(
        help: "Seconds a signalled stop may take (the current step and a checkpoint) before the process exits at once.")
    var stopTimeout: Double = 30
    @Option(
        help: """
            Under mpirun: seconds a rank waits for the others before it checks they are alive; one that does not \
            answer (dead or hung) stops the job.
            """
    )
    var rankTimeout: Double = 30

    func validate() throws {
        guard stopTimeout > 0, stopTimeout.isFinite else {
            throw ValidationError("--stop-timeout must be a positive number of seconds")
        }
        guard rankTimeout > 0, rankTimeout.isFinite else {
            throw ValidationError("--rank-timeout must be a positive number of seconds")
        }
        if resume == nil {
            _ = try options.resolve()
        } else {
            // Any setting that would change the configuration, other than the step count, is refused.
            var given = try options.resolve()
            let untouched = try TrainingFlags.parse([]).resolve()
            given.steps = untouched.steps
            given.precision = untouched.precision
            guard given == untouched, out == nil, initFrom == nil else {
                throw ValidationError(
                    "--resume continues a run with its own configuration (its config.json); only --steps (a new total) "
                        + "and --precision may be given with it, not other settings, --out or --init")
            }
            if let steps = options.steps, steps < 1 { throw ValidationError("--steps must be >= 1, got \(steps)") }
        }
        if let initFrom, !FileManager.default.fileExists(atPath: initFrom) {
            throw RuntimeFailure("--init: no file at \(initFrom)")
        }
    }

    func run() throws {
        // Started by mpirun (or srun): one process of a data-parallel run.
        do {
            try TrainingLaunch.run(rankTimeout: rankTimeout, train)
        } catch let failure as AgreedFailure {
            // Every rank has the same error: each reports it in one write (the ranks share the stream).
            printError("Error: " + failure.description)
            throw ExitCode.failure
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
    }

    /// Trains alone, or as one rank of `group`.
    func train(group: MPIProcessGroup?) throws {
        // Resolved once (with --data it reads the user's file): every step below takes this one.
        var resolved: TrainingConfiguration?
        func configuration() throws -> TrainingConfiguration {
            if let resolved { return resolved }
            let configuration = try options.resolve()
            resolved = configuration
            return configuration
        }
        let start: TrainingLaunch.Start
        if let resume {
            start = .resume(directory: URL(fileURLWithPath: resume), steps: options.steps, precision: options.precision)
        } else {
            let directory = try out ?? defaultDirectory(configuration())
            start = .fresh(
                directory: URL(fileURLWithPath: directory),
                initialWeights: initFrom.map { URL(fileURLWithPath: $0) })
        }
        let launch = TrainingLaunch(start: start, group: group, log: printError) { error in
            (error as? BIMTError).map(TrainingFlags.failure) ?? error
        }
        let rank = launch.rank
        let device = try launch.device { try deviceOptions.open(localRank: $0, of: $1, rank: $2) }
        try launch.requireSameSettings(configuration)
        if dryRun {
            do {
                let plan = try launch.plan(try configuration(), on: device)
                print(plan)
                print(
                    "precision: \(try Trainer.choosePrecision(try configuration().precision, on: device).explanation)")
                try plan.check()
                print("fits: \(plan.totalBytes / 1_048_576) MiB of \(plan.deviceBytes / 1_048_576) MiB")
            } catch let error as BIMTError {
                throw TrainingFlags.failure(error)
            }
            return
        }
        let trainer = try launch.trainer(on: device, configuration: configuration, quiet: quiet)
        let progress = ProgressLine(total: trainer.options.steps, quiet: quiet || rank != 0)
        let final: TrainingMetrics?
        let signals = StopSignals(timeout: stopTimeout)
        do {
            final = try trainer.run(
                progress: { progress.report($0) }, shouldStop: { signals.requested },
                checkpointed: {
                    guard view, let directory = trainer.runDirectory else { return }
                    // Drawn on the CPU path, away from the training device's buffers.
                    let (html, _) = try RunViewer.html(runDirectory: directory)
                    try Data(html.utf8).write(to: directory.appending(path: "view.html"), options: .atomic)
                })
        } catch let error as BIMTError {
            throw RuntimeFailure(TrainingFlags.message(error))
        }
        progress.finish()
        guard rank == 0 else { return }
        if let plan = trainer.memoryPlan, !quiet {
            printError(
                String(
                    format: "device buffers at the end: %.1f MiB (planned %.1f MiB)",
                    Double(4 * Buffer.liveElementCount) / 1_048_576, Double(plan.totalBytes) / 1_048_576))
        }
        if trainer.interrupted, let directory = trainer.runDirectory {
            printError(
                "stopped at step \(trainer.step) by a signal; checkpoint written. "
                    + "Continue with: bimt train --resume \(directory.path)"
            )
            return
        }
        if let final { print(summary(final, trainer)) }
    }

    func defaultDirectory(_ configuration: TrainingConfiguration) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/\(configuration.preset ?? configuration.task.kind)-\(formatter.string(from: Date()))"
    }

    func summary(_ m: TrainingMetrics, _ trainer: Trainer) -> String {
        // A run holding out validation examples never evaluates on its test split: its figures are
        // validation figures.
        let split = trainer.options.evaluationSplitName
        var parts = [
            "step \(m.step)", String(format: "train loss %.4g", m.trainLoss),
            String(format: "\(split) loss %.4g", m.testLoss),
        ]
        if let last = m.testLastLoss { parts.append(String(format: "\(split) loss at the last position %.4g", last)) }
        if let a = m.testAccuracy { parts.append(String(format: "\(split) accuracy %.2f%%", 100 * a)) }
        if case .text = trainer.configuration?.task {
            parts.append(String(format: "\(split) perplexity %.3f", exp(m.testLoss)))
        }
        parts.append(String(format: "cost %.4g", m.cost))
        parts.append(String(format: "%.1f s (%.0f steps/s)", m.seconds, Double(m.step) / max(m.seconds, 1e-9)))
        if let directory = trainer.runDirectory { parts.append("run: \(directory.path)") }
        return parts.joined(separator: ", ")
    }
}
