import BIMTCompute
import Foundation

/// How a training process starts its run: alone, or as one rank of a data-parallel job
/// started by `mpirun`. Under MPI every rank agrees on each step of the setup (the device,
/// the settings, the run, the data) before anything is written, so a bad setting on one rank
/// stops every rank with the same message instead of leaving the others waiting.
///
/// `bimt train` is one call of `run` and, inside it, one of `trainer(...)`; a program that
/// trains under `mpirun` can do the same.
public struct TrainingLaunch {
    /// What the process trains.
    public enum Start: Sendable, Equatable {
        /// A new run written to `directory`, optionally from the weights in `initialWeights`.
        case fresh(directory: URL, initialWeights: URL?)
        /// A run continued from its directory; `steps` is a new total (nil: the run's own).
        case resume(directory: URL, steps: Int?, precision: PrecisionSetting?)
    }

    /// What the process trains.
    public let start: Start
    /// The job's processes (nil: this process alone).
    public let group: MPIProcessGroup?
    /// Where the launch's one-line notes go (each line in one write: the ranks share the stream).
    public let log: (String) -> Void
    /// Turns an error of the setup into the one every rank reports (e.g. naming the flag at fault).
    public let explain: (Error) -> Error

    /// This process's rank (0 alone).
    public var rank: Int { group?.rank ?? 0 }

    /// A launch of `start` in `group`. Under MPI it notes where this rank runs.
    public init(
        start: Start, group: MPIProcessGroup?, log: @escaping (String) -> Void,
        explain: @escaping (Error) -> Error = { $0 }
    ) {
        self.start = start
        self.group = group
        self.log = log
        self.explain = explain
        if let group {
            log(
                "rank \(group.rank) of \(group.size) on \(group.hostName) (local rank \(group.localRank) of "
                    + "\(group.localSize)): pid \(ProcessInfo.processInfo.processIdentifier), "
                    + "\(Device.cpuThreads) CPU thread(s)")
        }
    }

    /// Runs `body` alone, or as one rank of the MPI job this process belongs to (the ranks on
    /// a node divide its cores between them). An
    /// `AgreedFailure` (every rank has it) ends MPI cleanly and is rethrown for each rank to
    /// report; any other error is this rank's alone, and stops the whole job.
    /// `behindLimit` as `MPIProcessGroup.start` takes it.
    public static func run(
        rankTimeout: Double, behindLimit: Double? = nil, _ body: (MPIProcessGroup?) throws -> Void
    ) throws {
        guard let group = try MPIProcessGroup.start(timeout: rankTimeout, behindLimit: behindLimit) else {
            return try body(nil)
        }
        Device.limitCPUThreads(Device.cpuThreads / group.localSize)
        do {
            try body(group)
        } catch let failure as AgreedFailure {
            group.finish()
            throw failure
        } catch {
            group.abort("\(error)")
        }
        group.finish()
    }

    /// `body`'s result; under MPI every rank fails, with every failed rank's reason, when any
    /// rank's `body` throws.
    public func agreed<T>(_ what: String, _ body: () throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in
            let explained = { () throws -> T in
                do { return try body() } catch { throw explain(error) }
            }
            guard let group else { return try explained() }
            do { return try group.agreeing(what, explained) } catch { throw AgreedFailure(error) }
        }
    }

    /// This rank's device: `open(localRank, localSize, rank)` takes the device of the rank's
    /// place on its node (rank nil when alone, for the selection note).
    public func device(_ open: (_ localRank: Int, _ localSize: Int, _ rank: Int?) throws -> Device) throws -> Device {
        try agreed("opening the devices") { try open(group?.localRank ?? 0, group?.localSize ?? 1, group?.rank) }
    }

    /// Under MPI, fails unless every rank runs the same settings: the resumed directory and
    /// step total, or the fresh run's resolved configuration.
    public func requireSameSettings(_ configuration: () throws -> TrainingConfiguration) throws {
        guard let group else { return }
        // Every rank makes the same calls, whatever it was started with: a rank resuming while
        // another starts afresh is told the ranks disagree, not left in a mismatched exchange.
        let bytes: [UInt8] = try agreed("resolving the configuration") {
            switch start {
            case let .resume(directory, steps, precision):
                return Array(
                    "\(directory.path)\u{0}\(steps.map(String.init) ?? "")\u{0}\(precision?.rawValue ?? "")".utf8)
            case .fresh:
                let encoder = JSONEncoder()
                encoder.outputFormatting = .sortedKeys
                return Array("\u{0}\u{0}".utf8) + Array(try encoder.encode(try configuration()))
            }
        }
        do {
            try group.requireSame(fnv1a64(bytes), "the configuration (preset, --config file, flags, --resume)")
        } catch {
            throw AgreedFailure(error)
        }
    }

    /// The memory plan of the fresh run `configuration` on `device` (for a dry run: nothing is
    /// allocated), checked against the device's memory.
    public func plan(_ configuration: TrainingConfiguration, on device: Device) throws -> MemoryPlan {
        try configuration.prepared(for: try configuration.makeTask(), on: device, ranks: group?.size ?? 1).plan
    }

    /// The run's trainer on `device`: resumed from its directory, or built from
    /// `configuration` (refusing a directory that already holds a run), with its memory plan
    /// logged unless `quiet`. Under MPI the ranks agree on the setup and then on the data.
    public func trainer(
        on device: Device, configuration: () throws -> TrainingConfiguration,
        quiet: Bool
    ) throws -> Trainer {
        let trainer: Trainer = try agreed("setting up the run") {
            switch start {
            case let .resume(directory, steps, precision):
                let trainer = try Trainer.resume(
                    directory: directory, device: device, steps: steps, precision: precision, processGroup: group)
                if rank == 0 {
                    log("resuming \(directory.relativePath) at step \(trainer.step) of \(trainer.options.steps)")
                }
                return trainer
            case let .fresh(directory, initialWeights):
                let configuration = try configuration()
                if rank == 0,
                    FileManager.default.fileExists(atPath: directory.appending(path: Trainer.checkpointName).path)
                {
                    throw BIMTError.invalidField(
                        field: "runDirectory",
                        reason: "\(directory.path) already holds a run; "
                            + "resume it (--resume \(directory.path)) or choose another directory")
                }
                let trainer = try Trainer(
                    configuration: configuration, device: device, runDirectory: directory,
                    processGroup: group)
                if let plan = trainer.memoryPlan, !quiet, rank == 0 { log(plan.description) }
                if let initialWeights { try trainer.initialize(from: initialWeights) }
                if rank == 0 { log("run directory: \(directory.path)" + (group.map { " (\($0.size) ranks)" } ?? "")) }
                return trainer
            }
        }
        if rank == 0 { log("precision: \(trainer.precision.explanation)") }
        if let group {
            // Every rank computes at the same precision (auto decides per device).
            let bf16 = trainer.precision.precision == .bf16
            let what =
                "the precision (rank 0: \(trainer.precision.explanation); give every rank the same "
                + "--precision fp32 or bf16 instead of auto)"
            do { try group.requireSame(bf16 ? 1 : 0, what) } catch {
                throw AgreedFailure(error)
            }
            // Every rank must train on the same data (the same files, read the same way); the hash
            // covers the counts too.
            let data = trainer.dataFingerprint
            do { try group.requireSame(UInt64(data.hash, radix: 16) ?? 0, "the data (rank 0: \(data))") } catch {
                throw AgreedFailure(error)
            }
        }
        return trainer
    }
}

/// A setup failure every rank of a data-parallel run has agreed on: each rank reports it and
/// ends MPI cleanly, instead of aborting the job.
public struct AgreedFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ error: Error) { description = "\(error)" }
}
