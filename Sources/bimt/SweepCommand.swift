import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

extension SweepMethod: ExpressibleByArgument {}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train a grid of runs (lambdas x methods x seeds) in one study directory and compare them.",
        discussion: """
            Methods: bimt (the preset's connection cost and swaps), l1 (weight factor 0: every weight \
            pays l0 |w|; no swaps) and none (lambda 0, no swaps; one run per seed). Any training \
            flag applies to every run, except --lambda and --seed, which the grid sets. Each run is an \
            ordinary run directory in --out (e.g. bimt-lambda-0.01-seed-1); a sweep stopped at any \
            moment (Ctrl-C checkpoints the current run) resumes when started again with the same \
            flags: finished runs are skipped, an interrupted one resumes from its checkpoint, one \
            that diverged is noted and not retried. Then every run is pruned as far as its loss \
            stays within the no-penalty run's (same seed) plus --loss-budget, and measured as \
            `bimt analyze --modularity` does, into study.csv, study.md (the table) and study.svg \
            (weights kept, and Q, against the loss, a colour per method), and index.html, which \
            links each run's viewer (view.html, as `bimt view` writes it).

            Under mpirun the ranks share the runs out (run i to rank i modulo the ranks, each an \
            ordinary single-process run on the rank's share of the node's cores); when every \
            rank is done, rank 0 analyzes and writes the study: mpirun -np 4 bimt sweep ...
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var options: TrainingFlags
    @Option(help: "Lambdas, comma-separated (e.g. 0.01,0.03,0.1).") var lambdas: String = ""
    @Option(help: "Methods, comma-separated: bimt, l1, none.") var methods: String = "bimt,l1,none"
    @Option(help: "Seeds, comma-separated.") var seeds: String = "1"
    @Option(help: "The study directory.") var out: String
    @Option(help: "How far each run's loss may rise when it is pruned for the study.") var lossBudget: Double = 0.05
    @OptionGroup var nullOptions: NullOptions
    @Option(help: "Seconds a stop signal waits for the current run's checkpoint.") var stopTimeout: Double = 30

    func list<T>(_ text: String, _ flag: String, _ parse: (String) -> T?) throws -> [T] {
        try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map {
            guard let value = parse($0) else { throw ValidationError("\(flag): '\($0)' is not valid") }
            return value
        }
    }

    func sweep() throws -> Sweep {
        guard options.lambda == nil, options.seed == nil else {
            throw ValidationError("--lambda and --seed are the grid's: give --lambdas and --seeds instead")
        }
        let methods = try list(self.methods, "--methods (bimt, l1 or none)") { SweepMethod(rawValue: $0) }
        let lambdas = try list(lambdas, "--lambdas") { Float($0) }
        let seeds = try list(seeds, "--seeds") { UInt64($0) }
        do {
            return try Sweep(
                base: try options.resolve(), lambdas: lambdas, methods: methods, seeds: seeds,
                directory: URL(fileURLWithPath: out))
        } catch let error as BIMTError {
            throw TrainingFlags.failure(error)
        }
    }

    func validate() throws {
        guard lossBudget.isFinite, lossBudget >= 0 else {
            throw ValidationError(
                "--loss-budget is how much pruning may raise the loss: a number >= 0, got \(lossBudget)")
        }
        _ = try sweep()
    }

    func run() throws {
        var stopped = false
        do {
            try runRanks { stopped = true }
        } catch let failure as AgreedFailure {
            // Every rank has the same error: each reports it in one write (the ranks share the stream).
            printError("Error: " + failure.description)
            throw ExitCode.failure
        }
        if stopped { throw ExitCode(130) }
    }

    /// Trains this process's share of the study (all of it alone), then, on rank 0, analyzes it;
    /// `stopped` is called when a signal stopped the sweep.
    func runRanks(stopped: () -> Void) throws {
        let sweep = try sweep()
        // A rank with fewer or shorter runs waits for the others as long as they live.
        try TrainingLaunch.run(rankTimeout: 30, behindLimit: .infinity) { group in
            let (rank, ranks) = (group?.rank ?? 0, group?.size ?? 1)
            let say = { (line: String) in printError(ranks > 1 ? "rank \(rank): \(line)" : line) }
            // Setup on every rank first, agreed: a bad flag or a study of another configuration
            // stops every rank with the same message before anything is trained.
            func agreed<T>(_ what: String, _ body: () throws -> T) throws -> T {
                guard let group else { return try body() }
                do { return try group.agreeing(what, body) } catch { throw AgreedFailure(error) }
            }
            // A rank takes its local rank's device, as `bimt train` under mpirun does.
            let device = try agreed("opening the devices") {
                try deviceOptions.open(localRank: group?.localRank ?? 0, of: group?.localSize ?? 1, rank: group?.rank)
            }
            try agreed("preparing the study") {
                do { try sweep.prepare() } catch let error as BIMTError { throw RuntimeFailure(error.description) }
            }
            let signals = StopSignals(timeout: stopTimeout)
            do {
                if rank == 0 {
                    printError(
                        "study: \(sweep.runs.count) runs in \(sweep.directory.path)"
                            + (ranks > 1 ? ", shared by \(ranks) ranks (run i to rank i mod \(ranks))" : ""))
                }
                try sweep.train(device: device, share: (rank, ranks), report: say, shouldStop: { signals.requested })
            } catch let error as BIMTError {
                throw RuntimeFailure(error.description)
            }
            if signals.requested && ranks > 1 {
                say("stopped at a checkpoint; waiting for the other ranks (Ctrl-C stops them all)")
            }
            // Every rank finishes its runs (or stops) before the study is analyzed.
            let stops = try group?.sum([signals.requested ? 1 : 0], "the sweep's training")[0] ?? 0
            if signals.requested || stops > 0 {
                if rank == 0 { printError("stopped; start the same command again to resume") }
                stopped()
                return
            }
            guard rank == 0 else { return }
            do {
                printError(
                    "analyzing every run at a loss budget of \(lossBudget), with \(nullOptions.nulls) "
                        + "\(nullOptions.null.rawValue) nulls each")
                let rows = try sweep.analyze(
                    device: device, lossBudget: lossBudget, nulls: nullOptions.nulls, null: nullOptions.null)
                print(
                    try String(contentsOf: sweep.directory.appending(path: "study.md"), encoding: .utf8),
                    terminator: "")
                printError(
                    "wrote study.csv, study.md, study.svg and index.html (\(rows.count) runs) in "
                        + sweep.directory.path)
            } catch let error as BIMTError {
                throw RuntimeFailure(error.description)
            }
        }
    }
}
