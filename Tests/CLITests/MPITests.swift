import BIMT
import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Real multi-process runs: Open MPI's `mpirun` starting the `bimt` binary, as a user does.
/// Open MPI is required (scripts/install-deps installs it): without `mpirun` these fail.
enum MPIRun {
    static var mpirun: URL {
        get throws {
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            return try #require(
                path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appending(path: "mpirun") }
                    .first { FileManager.default.isExecutableFile(atPath: $0.path) },
                "no mpirun on PATH: install Open MPI (scripts/install-deps installs openmpi-bin)")
        }
    }

    /// A started job; its output goes to a file that can be read while it runs.
    final class Job {
        let process = Process()
        let log: URL
        let started = Date()

        init(ranks: Int, _ arguments: [String], extra: [[String]] = [], environment: [String: String] = [:]) throws {
            log = FileManager.default.temporaryDirectory.appending(path: "bimt-mpi-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            process.executableURL = try MPIRun.mpirun
            // One application context per rank group (`:`), so a test can give ranks different flags.
            var words = ["--oversubscribe", "-np", String(ranks), try bimtBinary().path] + arguments
            for more in extra { words += [":", "-np", "1", try bimtBinary().path] + more }
            process.arguments = words
            // Open MPI refuses root unless told (CI runs as root).
            process.environment = ProcessInfo.processInfo.environment.merging(
                [
                    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                    "OMPI_MCA_rmaps_base_oversubscribe": "1",
                ]
                .merging(environment) { $1 }
            ) { $1 }
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        deinit { try? FileManager.default.removeItem(at: log) }

        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Waits up to `seconds`; kills the job (and fails) past it. Returns the exit status.
        @discardableResult
        func wait(seconds: Double) -> Int32 {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning {
                Issue.record("mpirun still running after \(seconds) s; output:\n\(output)")
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            return process.terminationStatus
        }

        /// Waits until `condition` holds (polling), at most `seconds`.
        func wait(until condition: () -> Bool, seconds: Double) -> Bool {
            let deadline = Date(timeIntervalSinceNow: seconds)
            while Date() < deadline {
                if condition() { return true }
                usleep(100_000)
            }
            return condition()
        }

        /// The pid rank `rank` printed at start ("rank R of N on HOST (...): pid P"; the ranks'
        /// lines can interleave, so the pid is the first after that rank's own words).
        func pid(ofRank rank: Int) -> Int32? {
            let text = output
            guard let start = text.range(of: "rank \(rank) of "),
                let pid = text.range(of: "pid ", range: start.upperBound..<text.endIndex)
            else { return nil }
            return Int32(text[pid.upperBound...].prefix { $0.isNumber })
        }
    }

    /// Runs a job to its end (at most `seconds`).
    static func run(ranks: Int, _ arguments: [String], extra: [[String]] = [], seconds: Double = 300) throws -> (
        status: Int32, output: String
    ) {
        let job = try Job(ranks: ranks, arguments, extra: extra)
        let status = job.wait(seconds: seconds)
        return (status, job.output)
    }

    static func temporaryDirectory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appending(path: "bimt-\(name)-\(UUID().uuidString)")
    }

    /// A run's metrics.csv as rows of named values.
    static func metrics(_ run: URL) throws -> [[String: Double]] {
        let lines = try String(contentsOf: run.appending(path: "metrics.csv"), encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { line in
            var row: [String: Double] = [:]
            for (name, cell) in zip(header, line.split(separator: ",", omittingEmptySubsequences: false)) {
                row[name] = Double(cell)
            }
            return row
        }
    }
}

@Suite("data-parallel training over MPI", .serialized)
struct MPITests {
    @Test("sweep under mpirun: the ranks share the runs out, and rank 0 writes the study")
    func sweep() throws {
        let study = MPIRun.temporaryDirectory("sweep")
        defer { try? FileManager.default.removeItem(at: study) }
        let (status, output) = try MPIRun.run(
            ranks: 2,
            [
                "sweep", "--out", study.path, "--lambdas", "0.01,0.1", "--methods", "bimt,none", "--steps", "100",
                "--nulls", "3", "--device", "cpu",
            ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("shared by 2 ranks"), "\(output)")
        // Runs 1 and 3 on rank 0, run 2 on rank 1; every run trained once.
        for (rank, run) in [(0, 1), (1, 2), (0, 3)] {
            #expect(output.contains("rank \(rank): run \(run) of 3"), "rank \(rank), run \(run): \(output)")
        }
        #expect(!output.contains("rank 1: run 1 of 3") && !output.contains("rank 0: run 2 of 3"))
        let table = try String(contentsOf: study.appending(path: "study.md"), encoding: .utf8)
        #expect(
            ["bimt-lambda-0.01-seed-1", "bimt-lambda-0.1-seed-1", "none-seed-1"].allSatisfy {
                table.contains("| \($0) |")
            }, "\(table)")
        #expect(FileManager.default.fileExists(atPath: study.appending(path: "index.html").path))
        // The same directory with other flags: every rank refuses it, with one message, before training.
        let (refused, why) = try MPIRun.run(
            ranks: 2,
            [
                "sweep", "--out", study.path, "--lambdas", "0.01,0.1", "--methods", "bimt,none", "--steps", "300",
                "--nulls", "3", "--device", "cpu",
            ])
        #expect(
            refused != 0 && why.contains("Error: rank 0: invalid setting")
                && why.contains("rank 1: invalid setting") && why.contains("holds a study of another configuration"),
            "\(why)")
        #expect(!why.contains("run 1 of 3") && !why.contains("MPI_ABORT"), "\(why)")
    }

    /// Compares two runs' logged losses (to `lossTolerance` relative), connection costs and
    /// final arrangements.
    func expectSameRun(_ one: URL, _ two: URL, lossTolerance: Double = 1e-5, _ label: String) throws {
        let a = try MPIRun.metrics(one), b = try MPIRun.metrics(two)
        #expect(a.count == b.count && !a.isEmpty, "\(label): \(a.count) vs \(b.count) metric rows")
        for (x, y) in zip(a, b) {
            #expect(x["step"] == y["step"])
            for column in ["train_loss", "test_loss"] {
                let (p, q) = (try #require(x[column]), try #require(y[column]))
                #expect(
                    abs(p - q) <= lossTolerance * max(abs(p), abs(q)),
                    "\(label) step \(x["step"]!): \(column) \(p) vs \(q)")
            }
            // The cost sums |w| d over every connection: near-zero weights make it the touchiest column.
            let (p, q) = (try #require(x["cost"]), try #require(y["cost"]))
            #expect(abs(p - q) <= 1e-4 * max(abs(p), abs(q)), "\(label) step \(x["step"]!): cost \(p) vs \(q)")
        }
        let first = try SafeTensors(contentsOf: one.appending(path: Trainer.checkpointName))
        let second = try SafeTensors(contentsOf: two.appending(path: Trainer.checkpointName))
        #expect(first.metadata["permutations"] == second.metadata["permutations"], "\(label): the relocations differ")
        #expect(first.metadata["step"] == second.metadata["step"])
    }

    /// Trains `arguments` in one process and as 2 ranks, and compares the runs (see
    /// `expectSameRun`); returns the 2-rank run's directory (the caller removes it).
    func expectSameAsOneProcess(_ arguments: [String], _ label: String) throws -> URL {
        let alone = MPIRun.temporaryDirectory("alone"), shared = MPIRun.temporaryDirectory("ranks")
        defer { try? FileManager.default.removeItem(at: alone) }
        let single = try bimt(["train"] + arguments + ["--out", alone.path])
        #expect(single.status == 0, "\(single.error)")
        let job = try MPIRun.run(ranks: 2, ["train"] + arguments + ["--out", shared.path])
        #expect(job.status == 0, "\(job.output)")
        #expect(job.output.contains("(2 ranks)"), "\(job.output)")
        try expectSameRun(alone, shared, label)
        return shared
    }

    /// A small GPT on random tokens whose swaps (greedy, every 50 steps) move heads and
    /// residual neurons: the transformer case with relocations (incontext trains with swaps off).
    static let relocatingGPT = [
        "--preset", "gpt-bench", "--layers", "2", "--width", "64", "--context", "32",
        "--relocation", "greedy",
    ]

    @Test(
        "2 ranks sharing each batch train as 1 process with the whole batch: an MLP and transformers, with relocations",
        arguments: [
            ["--preset", "independence"], ["--preset", "incontext"],
            ["--preset", "incontext", "--accumulation-steps", "2"], MPITests.relocatingGPT,
        ])
    func parity(_ preset: [String]) throws {
        let common =
            preset + ["--steps", "300", "--swap-every", "50", "--log-every", "10", "--device", "cpu", "--quiet"]
        let shared = try expectSameAsOneProcess(common, preset.joined(separator: " "))
        defer { try? FileManager.default.removeItem(at: shared) }
        // Only rank 0 writes: one metrics row per log step.
        #expect(try MPIRun.metrics(shared).count == 30)
        if preset == Self.relocatingGPT { try expectRelocated(shared) }
    }

    /// The run's swaps moved neurons, so the comparison covered relocated runs.
    func expectRelocated(_ run: URL) throws {
        let permutations = try SafeTensors(contentsOf: run.appending(path: Trainer.checkpointName))
            .metadata["permutations"]
        let layers = try JSONDecoder().decode([[Int]].self, from: Data((permutations ?? "[]").utf8))
        #expect(layers.contains { $0 != Array(0..<$0.count) }, "no relocation moved a neuron")
    }

    @Test("on an OpenCL device (gradients go through host memory), 2 ranks also train as 1 process")
    func openCLParity() throws {
        guard TestDevices.runOpenCLTests else {
            Issue.record(
                "no OpenCL device on this machine: the OpenCL data-parallel run was not tested", severity: .warning)
            return
        }
        let device = try #require(try TestDevices.openCL().openCLDescription)
        for preset in [["--preset", "incontext"], Self.relocatingGPT] {
            let common =
                preset + [
                    "--steps", "100", "--swap-every", "50", "--log-every", "10", "--quiet",
                    "--device", "opencl:\(device.platformIndex):\(device.deviceIndex)",
                ]
            let shared = try expectSameAsOneProcess(common, preset.joined(separator: " ") + " on OpenCL")
            if preset == Self.relocatingGPT { try expectRelocated(shared) }
            try FileManager.default.removeItem(at: shared)
        }
    }

    @Test(
        """
        a checkpoint does not depend on the rank count: 1 process for 100 steps, \
        then 2 ranks to 200, as 1 process throughout
        """
    )
    func resumeWithMoreRanks() throws {
        let common = [
            "--preset", "two-moons", "--steps", "200", "--swap-every", "50", "--log-every", "10", "--checkpoint-every",
            "100",
            "--device", "cpu", "--quiet",
        ]
        let straight = MPIRun.temporaryDirectory("straight"), resumed = MPIRun.temporaryDirectory("resumed")
        defer { for url in [straight, resumed] { try? FileManager.default.removeItem(at: url) } }
        #expect(try bimt(["train"] + common + ["--out", straight.path]).status == 0)
        // The same run, stopped after its checkpoint at step 100 (in this process), then resumed by 2 ranks.
        var overrides = TrainingConfiguration.Overrides()
        (overrides.steps, overrides.swapEvery, overrides.logEvery, overrides.checkpointEvery) = (200, 50, 10, 100)
        let configuration = try TrainingConfiguration.preset("two-moons").applying(overrides)
        let trainer = try Trainer(configuration: configuration, device: Device.cpu(), runDirectory: resumed)
        try trainer.run(until: 100)
        let job = try MPIRun.run(ranks: 2, ["train", "--resume", resumed.path, "--quiet"])
        #expect(job.status == 0, "\(job.output)")
        try expectSameRun(straight, resumed, "1 process then 2 ranks")
    }

    @Test("kill -9 one rank mid-run: the job ends non-zero in time, the checkpoint loads, and 1 rank resumes it")
    func killedRank() throws {
        let run = MPIRun.temporaryDirectory("killed")
        defer { try? FileManager.default.removeItem(at: run) }
        let job = try MPIRun.Job(
            ranks: 2,
            [
                "train", "--preset", "two-moons", "--steps", "100000000", "--log-every", "200",
                "--checkpoint-every", "200", "--device", "cpu", "--quiet", "--out", run.path,
            ])
        let checkpoint = run.appending(path: Trainer.checkpointName)
        #expect(
            job.wait(
                until: { FileManager.default.fileExists(atPath: checkpoint.path) && job.pid(ofRank: 1) != nil },
                seconds: 120),
            "\(job.output)")
        let victim = try #require(job.pid(ofRank: 1))
        let killedAt = Date()
        kill(victim, SIGKILL)
        let status = job.wait(seconds: 90)
        #expect(Date().timeIntervalSince(killedAt) < 60, "the job took \(Date().timeIntervalSince(killedAt)) s to end")
        #expect(status != 0)
        // The failure itself names rank 1 (every rank names itself at start, "rank 1 of 2", so
        // that alone proves nothing): mpirun ends the job as soon as a process dies, saying which
        // and how; were that left to bimt, the surviving rank's liveness probe would name it.
        let output = job.output
        let mpirunLine = "noticed that process rank 1 with PID [0-9]+ on node .+ exited on signal \(SIGKILL)[^0-9]"
        let noticed = output.range(of: mpirunLine, options: .regularExpression) != nil
        #expect(noticed || output.contains("rank 1 did not answer"), "\(output)")
        let trainer = try Trainer.load(checkpoint: checkpoint, device: Device.cpu())
        let step = trainer.step
        #expect(step >= 200 && step % 200 == 0)
        let resumed = try bimt(["train", "--resume", run.path, "--steps", String(step + 50), "--quiet"])
        #expect(resumed.status == 0, "\(resumed.error)")
        #expect(try MPIRun.metrics(run).last?["step"] == Double(step + 50))
    }

    @Test("a hung rank (SIGSTOP) is named by the others, which end the job within the timeout")
    func hungRank() throws {
        let run = MPIRun.temporaryDirectory("hung")
        defer { try? FileManager.default.removeItem(at: run) }
        let job = try MPIRun.Job(
            ranks: 2,
            [
                "train", "--preset", "two-moons", "--steps", "100000000", "--log-every", "200",
                "--checkpoint-every", "200", "--device", "cpu", "--quiet", "--rank-timeout", "3",
                "--out", run.path,
            ])
        let checkpoint = run.appending(path: Trainer.checkpointName)
        #expect(
            job.wait(
                until: { FileManager.default.fileExists(atPath: checkpoint.path) && job.pid(ofRank: 1) != nil },
                seconds: 120),
            "\(job.output)")
        let victim = try #require(job.pid(ofRank: 1))
        let stoppedAt = Date()
        kill(victim, SIGSTOP)
        defer { kill(victim, SIGKILL) }
        let status = job.wait(seconds: 90)
        #expect(Date().timeIntervalSince(stoppedAt) < 60)
        #expect(status != 0)
        #expect(job.output.contains("rank 1 did not answer"), "\(job.output)")
        _ = try Trainer.load(checkpoint: checkpoint, device: Device.cpu())
    }

    @Test(
        "SIGTERM to the ranks a moment apart: every rank stops after the same step and rank 0 writes a checkpoint of it"
    )
    func signalledStop() throws {
        let run = MPIRun.temporaryDirectory("stopped")
        defer { try? FileManager.default.removeItem(at: run) }
        let job = try MPIRun.Job(
            ranks: 2,
            [
                "train", "--preset", "two-moons", "--steps", "100000000", "--log-every", "500",
                "--checkpoint-every", "100000000", "--device", "cpu", "--quiet", "--out", run.path,
            ])
        let metrics = run.appending(path: "metrics.csv")
        #expect(
            job.wait(
                until: {
                    ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").split(separator: "\n").count >= 2
                }, seconds: 120),
            "\(job.output)")
        // A signal reaches the ranks at different moments (here rank 1 first): they still stop after the same step.
        kill(try #require(job.pid(ofRank: 1)), SIGTERM)
        usleep(300_000)
        kill(try #require(job.pid(ofRank: 0)), SIGTERM)
        #expect(job.wait(seconds: 60) == 0, "\(job.output)")
        let output = job.output
        let stopped = try #require(
            output.range(of: "stopped at step ").map { Int(output[$0.upperBound...].prefix { $0.isNumber }) } ?? nil,
            "\(output)")
        let trainer = try Trainer.load(checkpoint: run.appending(path: Trainer.checkpointName), device: Device.cpu())
        #expect(trainer.step == stopped)
    }

    @Test("bad input stops every rank with a clear error and writes nothing")
    func badInput() throws {
        let run = MPIRun.temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(at: run) }
        // A batch that does not split over the ranks.
        let uneven = try MPIRun.run(
            ranks: 2,
            [
                "train", "--preset", "modadd-seq", "--batch-size", "63", "--steps", "5", "--device", "cpu",
                "--out", run.path,
            ])
        #expect(uneven.status != 0)
        for rank in 0..<2 {
            #expect(
                uneven.output.contains(
                    "rank \(rank): --batch-size (batchSize): a batch of 63 does not split evenly over 2 ranks"),
                "\(uneven.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: run.path))
        // Ranks started with different settings.
        let base = ["train", "--preset", "independence", "--steps", "5", "--device", "cpu", "--out", run.path]
        let disagreeing = try MPIRun.run(ranks: 1, base + ["--lr", "0.01"], extra: [base + ["--lr", "0.02"]])
        #expect(disagreeing.status != 0)
        #expect(disagreeing.output.contains("the ranks disagree on the configuration"), "\(disagreeing.output)")
        #expect(!FileManager.default.fileExists(atPath: run.path))
        // One rank resuming while the other starts afresh: the same calls on both, a clean refusal.
        let mixed = try MPIRun.run(
            ranks: 1, base, extra: [["train", "--resume", run.path, "--device", "cpu"]])
        #expect(mixed.status != 0)
        #expect(mixed.output.contains("the ranks disagree on the configuration"), "\(mixed.output)")
        #expect(!FileManager.default.fileExists(atPath: run.path))
        // More ranks on a node than it has OpenCL devices.
        if TestDevices.runOpenCLTests {
            let devices = (try? OpenCLDiscovery.devices().count) ?? 0
            let crowded = try MPIRun.run(
                ranks: devices + 1,
                [
                    "train", "--preset", "independence", "--steps", "5", "--device", "opencl",
                    "--out", run.path,
                ])
            #expect(crowded.status != 0)
            #expect(
                crowded.output.contains(
                    "rank \(devices): --device opencl: invalid argument: "
                        + "local rank \(devices) of \(devices + 1)"),
                "\(crowded.output)")
            #expect(!FileManager.default.fileExists(atPath: run.path))
        }
    }

    @Test("started by an MPI launcher without a loadable MPI library, bimt says what to install")
    func missingLibrary() throws {
        let result = try bimt(
            ["train", "--steps", "5", "--quiet"],
            environment: ["OMPI_COMM_WORLD_SIZE": "2", "BIMT_MPI_LIBRARY": "libNoSuchMPI.so.40"])
        #expect(result.status != 0)
        #expect(
            result.error.contains("cannot load MPI") && result.error.contains("libNoSuchMPI.so.40")
                && result.error.contains("apt-get install openmpi-bin"), "\(result.error)")
    }
}
