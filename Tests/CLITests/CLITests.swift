import BIMT
import BIMTCompute
import Foundation
import Testing
import TestSupport

/// The `bimt` binary that `swift test` built next to the test bundle.
func bimtBinary() throws -> URL {
    let buildDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appending(path: ".build")
    let candidates =
        ["debug", "release"].map { buildDirectory.appending(path: "\($0)/bimt") }
        + [Bundle.main.bundleURL.appending(path: "bimt")]
    return try #require(
        candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
        "no bimt binary under \(buildDirectory.path)")
}

/// Whether this processor reports AVX2 (x86 Linux's /proc/cpuinfo; false where that is missing).
let processorHasAVX2 = CPUFeatures.processorFlags.contains("avx2")

/// Runs the `bimt` binary that `swift test` built.
func bimt(_ arguments: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, output: String, error: String
) {
    let process = Process()
    process.executableURL = try bimtBinary()
    process.arguments = arguments
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let output = out.fileHandleForReading.readDataToEndOfFile(), error = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
}

@Suite("bimt command line")
struct CLITests {
    @Test("devices lists the CPU path")
    func devices() throws {
        let result = try bimt(["devices"])
        #expect(result.status == 0)
        #expect(result.output.contains("cpu:") && result.output.contains("BLAS"))
    }

    @Test("without any OpenCL library the binary starts, says so, and trains on the CPU path")
    func noOpenCL() throws {
        let missing = ["BIMT_OPENCL_LIBRARY": "libNoSuchOpenCL.so.1"]
        let devices = try bimt(["devices"], environment: missing)
        #expect(
            devices.status == 0 && devices.output.contains("OpenCL: unavailable") && devices.output.contains("cpu:"))
        let run = FileManager.default.temporaryDirectory.appending(path: "bimt-noopencl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        let train = try bimt(["train", "--steps", "50", "--out", run.path, "--quiet"], environment: missing)
        #expect(train.status == 0, "\(train.error)")
        #expect(train.error.contains("OpenCL unavailable"), "\(train.error)")
        let opencl = try bimt(["bench", "gemm", "--device", "opencl", "--size", "8"], environment: missing)
        #expect(opencl.status != 0 && opencl.error.contains("available: auto, cpu"), "\(opencl.error)")
    }

    @Test("without oneDNN the binary says why, auto trains in fp32, and --precision bf16 is refused with the fix")
    func noOneDNN() throws {
        let missing = ["BIMT_DNNL_LIBRARY": "libNoSuchDNNL.so.2"]
        let devices = try bimt(["devices"], environment: missing)
        #expect(devices.status == 0 && devices.output.contains("bf16 products: no"), "\(devices.output)")
        let auto = try bimt(["train", "--device", "cpu", "--precision", "auto", "--dry-run"], environment: missing)
        #expect(auto.status == 0 && auto.output.contains("precision: fp32 (auto: oneDNN"), "\(auto.output)")
        let bf16 = try bimt(["train", "--device", "cpu", "--precision", "bf16", "--dry-run"], environment: missing)
        #expect(bf16.status == 64, "\(bf16.error)")
        #expect(
            bf16.error.contains("--precision") && bf16.error.contains("libNoSuchDNNL.so.2")
                && bf16.error.contains("apt-get install libdnnl2"), "\(bf16.error)")
        let unknown = try bimt(["train", "--device", "cpu", "--precision", "fp16", "--dry-run"])
        #expect(unknown.status == 64 && unknown.error.contains("fp16"), "\(unknown.error)")
    }

    @Test("an OpenCL device takes --precision bf16 and says how; a resumed run may change its precision")
    func precisionOnDevices() throws {
        if TestDevices.runOpenCLTests {
            let bf16 = try bimt(["train", "--device", "opencl", "--precision", "bf16", "--dry-run"])
            #expect(bf16.status == 0 && bf16.output.contains("precision: bf16 (asked for; gemm_tiled_bf16"))
            let auto = try bimt(["train", "--device", "opencl", "--precision", "auto", "--dry-run"])
            #expect(auto.status == 0 && auto.output.contains("precision: fp32 (auto: "), "\(auto.output)")
        }
        let run = FileManager.default.temporaryDirectory.appending(path: "bimt-precision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(try bimt(["train", "--steps", "20", "--out", run.path, "--quiet"]).status == 0)
        let expected = Device.cpu().bf16Support.native ? "precision: bf16 (auto" : "precision: fp32 (auto"
        let resumed = try bimt(["train", "--resume", run.path, "--steps", "30", "--precision", "auto", "--quiet"])
        #expect(resumed.status == 0 && resumed.error.contains(expected), "\(resumed.error)")
        let other = try bimt(["train", "--resume", run.path, "--lr", "0.1"])
        #expect(other.status == 64 && other.error.contains("--precision may be given"), "\(other.error)")
    }

    @Test("analyze --loss-budget finds the threshold and says so; with --threshold, or negative, it is refused")
    func lossBudget() throws {
        let run = FileManager.default.temporaryDirectory.appending(path: "bimt-budget-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(try bimt(["train", "--steps", "300", "--out", run.path, "--quiet"]).status == 0)
        let result = try bimt(["analyze", run.path, "--loss-budget", "0.01", "--modularity", "--nulls", "5", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["loss_budget"] as? Double == 0.01)
        #expect((object["families_kept"] as? [String: Double])?["mlp"] != nil, "\(object)")
        let before = try #require(object["test_loss_before"] as? Double)
        let after = try #require(object["test_loss_after"] as? Double)
        #expect(after <= before + 0.01)
        let modularity = try #require(object["modularity"] as? [String: Any], "\(object)")
        for key in ["q", "null_mean", "null_std", "mean_length", "null_length_mean"] {
            #expect(modularity[key] is Double, "\(key) in \(modularity)")
        }
        #expect(modularity["nulls"] as? Int == 5)
        // igraph is loaded at run time: without it only --modularity fails, saying how to get it.
        let missing = ["BIMT_IGRAPH_LIBRARY": "libNoSuchIGraph.so.3"]
        #expect(try bimt(["analyze", run.path], environment: missing).status == 0)
        let without = try bimt(["analyze", run.path, "--modularity"], environment: missing)
        #expect(without.status == 1 && without.error.contains("apt-get install libigraph3"), "\(without.error)")
        #expect(try bimt(["analyze", run.path, "--modularity", "--nulls", "1"]).status == 64)
        for bad in [["--loss-budget", "0.01", "--threshold", "0.1"], ["--loss-budget", "-1"]] {
            let refused = try bimt(["analyze", run.path] + bad)
            #expect(refused.status == 64 && refused.error.contains("--loss-budget"), "\(bad): \(refused.error)")
        }
    }

    @Test("sweep: a bad grid is refused before anything is trained; a small one writes its study")
    func sweep() throws {
        let study = FileManager.default.temporaryDirectory.appending(path: "bimt-sweep-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: study) }
        for bad in [["--methods", "bimt,dropout"], ["--lambda", "0.1"], ["--seeds", ""], ["--lambdas", "-1"]] {
            let result = try bimt(["sweep", "--out", study.path, "--lambdas", "0.01", "--device", "cpu"] + bad)
            #expect(result.status == 64, "\(bad): \(result.error)")
            #expect(!FileManager.default.fileExists(atPath: study.path), "\(bad) created the study")
        }
        let result = try bimt([
            "sweep", "--out", study.path, "--lambdas", "0.01", "--methods", "bimt,none", "--steps", "100",
            "--nulls", "3", "--device", "cpu",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("| bimt-lambda-0.01-seed-1 |") && result.error.contains("run 2 of 2"))
        #expect(FileManager.default.fileExists(atPath: study.appending(path: "study.svg").path))
    }

    @Test("bench gemm --json prints the documented object")
    func benchGemmJSON() throws {
        let result = try bimt([
            "bench", "gemm", "--device", "cpu", "--shape", "33x7x129", "--trans", "TN", "--repeat", "2", "--json",
        ])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let first = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(object["device"] is String)
        #expect(
            first["m"] as? Int == 33 && first["n"] as? Int == 7 && first["k"] as? Int == 129
                && first["trans"] as? String == "TN")
        #expect((first["max_rel_error"] as? Double ?? 1) < 1e-5)
    }

    @Test("bench bimt --json reports every figure")
    func benchBIMTJSON() throws {
        let result = try bimt([
            "bench", "bimt", "--device", "cpu", "--shape", "16,9,4", "--repeat", "1", "--top-k", "3", "--json",
        ])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        for key in [
            "connection_cost_seconds", "greedy_seconds", "assignment_seconds", "naive_seconds", "speedup_vs_naive",
        ] {
            #expect(object[key] is Double, "\(key) missing")
        }
        // Same decisions, so the same final cost (float32 on the device vs double in the oracle).
        let greedy = try #require(object["cost_after_greedy"] as? Double),
            naive = try #require(object["cost_after_naive"] as? Double)
        #expect(abs(greedy - naive) <= 1e-6 * naive)
    }

    @Test(
        "bad input is a one-line error and a non-zero exit, never a crash",
        arguments: [
            (["bench", "gemm", "--size", "0"], "--size"),
            (["bench", "gemm", "--shape", "3x4"], "MxNxK"),
            (["bench", "gemm", "--trans", "XY"], "--trans"),
            (["bench", "gemm", "--device", "gpu7"], "available"),
            (["bench", "gemm", "--device", "opencl:9:9", "--size", "8"], "available"),
            (["bench", "bimt", "--shape", "10"], "--shape"),
            (["bench", "bimt", "--layout", "hexagon"], "--layout"),
            (["bench", "bimt", "--top-k", "0"], "--top-k"),
            (["frobnicate"], "frobnicate"),
        ])
    func badInput(arguments: [String], mentions: String) throws {
        let result = try bimt(arguments)
        #expect(result.status != 0 && result.status < 128, "exit \(result.status) for \(arguments)")
        #expect(result.error.contains(mentions), "\(arguments): \(result.error)")
        #expect(!result.error.contains("Fatal error"))
    }
}

@Suite("bimt train, analyze and render")
struct TrainCLITests {
    func directory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appending(path: "bimt-cli-\(name)-\(UUID().uuidString)")
    }

    @Test(
        "the memory plan is printed before training, matches the device buffers a run holds; --dry-run trains nothing",
        arguments: [
            ["--preset", "independence", "--steps", "50"], ["--preset", "modadd", "--steps", "20"],
            ["--preset", "modadd-seq", "--modulus", "31", "--steps", "20"],
        ])
    func memoryPlan(arguments: [String]) throws {
        let run = directory("plan")
        defer { try? FileManager.default.removeItem(at: run) }
        let dry = try bimt(["train"] + arguments + ["--device", "cpu", "--out", run.path, "--dry-run"])
        #expect(
            dry.status == 0 && dry.output.contains("memory plan on cpu") && dry.output.contains("fits:"), "\(dry.error)"
        )
        #expect(!FileManager.default.fileExists(atPath: run.path))
        let result = try bimt(["train"] + arguments + ["--device", "cpu", "--out", run.path])
        #expect(result.status == 0, "\(result.error)")
        func mib(_ pattern: String) -> Double? {
            guard let range = result.error.range(of: pattern + " [0-9.]+ MiB", options: .regularExpression) else {
                return nil
            }
            return Double(result.error[range].split(separator: " ").dropLast().last!)
        }
        let actual = try #require(mib("at the end:")), planned = try #require(mib("planned"))
        // The plan leaves out small fixed buffers (coordinates, the swap search's scratch).
        #expect(actual >= 0.98 * planned && actual <= 1.05 * planned + 2, "planned \(planned) MiB, held \(actual) MiB")
    }

    @Test("a plan larger than the device is refused before training, naming what to lower")
    func planTooLarge() throws {
        let run = directory("too-large")
        // About 3.2e9 parameters: their four buffers alone need 50 GiB.
        let result = try bimt([
            "train", "--preset", "modadd-seq", "--width", "16384", "--heads", "8", "--device", "cpu", "--out", run.path,
        ])
        #expect(
            result.status == 1
                && result.error.contains("parameters and optimizer state take the most: lower the layers or the width"),
            "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: run.path))
    }

    @Test("a short run writes config, metrics and a checkpoint; analyze and render read it; resume continues it")
    func trainAnalyzeRender() throws {
        let run = directory("run")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try bimt([
            "train", "--device", "cpu", "--steps", "400", "--log-every", "100", "--checkpoint-every", "200",
            "--out", run.path, "--quiet",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("step 400") && result.output.contains("test loss"))
        for file in ["config.json", "metrics.csv", "checkpoint.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: run.appending(path: file).path), "\(file) missing")
        }
        let analysis = try bimt(["analyze", run.path, "--device", "cpu", "--json"])
        #expect(analysis.status == 0, "\(analysis.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(analysis.output.utf8)) as? [String: Any])
        #expect(report["modules"] is [Any] && report["fraction_kept"] is Double)
        let svg = run.appending(path: "graph.svg")
        #expect(try bimt(["render", run.path, "-o", svg.path]).status == 0)
        #expect(try String(contentsOf: svg, encoding: .utf8).contains("<line"))
        // Drawing opens no device: an older command line's --device still runs, with a note.
        let withDevice = try bimt(["render", run.path, "-o", svg.path, "--device", "opencl"])
        #expect(withDevice.status == 0 && withDevice.error.contains("draws on the host"), "\(withDevice.error)")
        // ... and a value that would be refused where it applies is refused here too.
        for bad in [["--device", "gpu7"], ["--gemm-variant", "fastest"]] {
            #expect(try bimt(["render", run.path, "-o", svg.path] + bad).status == 64, "\(bad)")
            #expect(try bimt(["view", run.path, "-o", svg.path + ".html"] + bad).status == 64, "\(bad)")
        }
        // The same --out again must not overwrite the run.
        let again = try bimt(["train", "--device", "cpu", "--steps", "10", "--out", run.path])
        #expect(again.status != 0 && again.error.contains("--resume"))
    }

    @Test("bimt train --data FILE.safetensors trains on a user's own table")
    func userData() throws {
        let folder = directory("data")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appending(path: "table.safetensors")
        var x: [Float] = [], labels: [Int] = []
        for i in 0..<120 {
            let a = Float(i % 11) / 5 - 1, b = Float(i % 7) / 3 - 1
            x += [a, b, a * b]
            labels.append(a + b > 0 ? 1 : 0)
        }
        let tensors: [SafeTensors.Tensor] = [
            .float32("train.inputs", shape: [100, 3], Array(x[..<300])),
            .int64("train.labels", shape: [100], Array(labels[..<100])),
            .float32("test.inputs", shape: [20, 3], Array(x[300...])),
            .int64("test.labels", shape: [20], Array(labels[100...])),
        ]
        try SafeTensors.write(tensors, metadata: [:], to: file)
        let run = folder.appending(path: "run")
        let result = try bimt([
            "train", "--data", file.path, "--shape", "3,8,2", "--steps", "300", "--device", "cpu", "--out", run.path,
            "--quiet",
        ])
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.contains("test accuracy"))
        // Widths that disagree with the data: refused before the run directory exists, naming the flag and the field.
        let wrong = folder.appending(path: "wrong")
        let refused = try bimt([
            "train", "--data", file.path, "--shape", "4,8,2", "--device", "cpu", "--out", wrong.path, "--quiet",
        ])
        #expect(
            refused.status == 64
                && refused.error.contains(
                    "--shape (architecture.widths): the model's input width 4 differs from the data's 3"),
            "\(refused.error)")
        #expect(!FileManager.default.fileExists(atPath: wrong.path))
    }

    @Test(
        "bad training input is a one-line error",
        arguments: [
            (["train", "--preset", "nonsense"], "unknown preset"),
            (["train", "--steps", "0"], "steps"),
            (["train", "--relocation", "random"], "--relocation"),
            (["train", "--shape", "4,20,3"], "output width"),
            (["train", "--data", "/nonexistent.safetensors"], "does not exist"),
            (["analyze", "/nonexistent.safetensors"], "cannot be read"),
            (["train", "--config", "/nonexistent.json"], "cannot be read"),
            (["train", "--init", "/nonexistent.safetensors"], "--init"),
            (["train", "--warmup-steps", "50000"], "--warmup-steps (learningRateSchedule.warmupSteps)"),
            (
                ["train", "--preset", "modadd-seq", "--accumulation-steps", "3"],
                "--accumulation-steps (accumulationSteps): 3 micro-batches must divide the batch size 512"
            ),
            (["train", "--weight-decay-scope", "some"], "--weight-decay-scope"),
            (
                ["train", "--preset", "gpt-bench", "--dropout", "1"],
                "--dropout (transformer.dropout): must lie in [0, 1), got 1.0"
            ),
        ])
    func badInput(arguments: [String], mentions: String) throws {
        let result = try bimt(arguments + ["--device", "cpu"])
        #expect(result.status != 0 && result.status < 128, "exit \(result.status)")
        #expect(result.error.contains(mentions), "\(arguments): \(result.error)")
    }

    @Test("a truncated checkpoint is refused by analyze and by --resume, and is not overwritten")
    func truncatedCheckpoint() throws {
        let run = directory("trunc")
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(try bimt(["train", "--device", "cpu", "--steps", "100", "--out", run.path, "--quiet"]).status == 0)
        let checkpoint = run.appending(path: "checkpoint.safetensors")
        let bytes = try Data(contentsOf: checkpoint)
        try bytes.prefix(bytes.count / 2).write(to: checkpoint)
        let analysis = try bimt(["analyze", checkpoint.path, "--device", "cpu"])
        #expect(analysis.status != 0 && analysis.error.contains("safetensors"), "\(analysis.error)")
        let resume = try bimt(["train", "--resume", run.path, "--device", "cpu"])
        #expect(resume.status != 0 && resume.error.contains("safetensors"), "\(resume.error)")
        #expect(try Data(contentsOf: checkpoint).count == bytes.count / 2)
    }
}

@Suite("Signals")
struct SignalTests {
    /// Starts `bimt train ARGUMENTS --out RUN --quiet`, waits until training has begun, sends
    /// `signals` copies of `signal`, and returns the exit status, the seconds from the first
    /// signal to the exit, standard error, and whether the run left a checkpoint.
    func signalledRun(_ arguments: [String], signal: Int32, count signals: Int = 1, settle: useconds_t = 500_000)
        throws -> (status: Int32, seconds: Double, message: String, checkpoint: Bool)
    {
        let run = FileManager.default.temporaryDirectory.appending(path: "bimt-cli-signal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: run) }
        let process = Process()
        process.executableURL = try bimtBinary()
        process.arguments = ["train"] + arguments + ["--out", run.path, "--quiet"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        let configFile = run.appending(path: "config.json").path
        for _ in 0..<400 where !FileManager.default.fileExists(atPath: configFile) { usleep(50_000) }
        usleep(settle)
        let start = Date()
        for _ in 0..<signals { kill(process.processIdentifier, signal); usleep(20_000) }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (
            process.terminationStatus, seconds, message,
            FileManager.default.fileExists(atPath: run.appending(path: "checkpoint.safetensors").path)
        )
    }

    @Test("SIGINT writes a checkpoint and exits cleanly; --resume continues")
    func interrupt() throws {
        let result = try signalledRun(
            [
                "--device", "cpu", "--steps", "100000000", "--log-every", "1000000",
                "--checkpoint-every", "100000000",
            ], signal: SIGINT)
        #expect(result.status == 0, "\(result.message)")
        #expect(result.message.contains("--resume"))
        #expect(result.checkpoint)
    }

    /// A transformer run whose steps take long (so a signalled stop is still waiting for its
    /// step), sent `signals` SIGTERMs.
    func slowRunSignalled(_ signals: Int, extra: [String] = []) throws -> (Int32, Double, String) {
        let result = try signalledRun(
            ["--preset", "gpt-bench", "--device", "cpu", "--batch-size", "64", "--steps", "100000"] + extra,
            signal: SIGTERM, count: signals, settle: 300_000)
        return (result.status, result.seconds, result.message)
    }

    @Test("a second SIGTERM ends a run at once, without waiting for its step")
    func secondSignal() throws {
        let (status, seconds, message) = try slowRunSignalled(2)
        #expect(status == 128 + SIGTERM && message.contains("a second signal"), "\(status): \(message)")
        #expect(seconds < 5, "took \(seconds) s")
    }

    @Test("a stop that does not complete within --stop-timeout ends the process")
    func stopTimeout() throws {
        let (status, seconds, message) = try slowRunSignalled(1, extra: ["--stop-timeout", "0.01"])
        #expect(status == 128 + SIGTERM && message.contains("did not complete within"), "\(status): \(message)")
        #expect(seconds < 5, "took \(seconds) s")
    }
}

@Suite("Soak")
struct SoakTests {
    // Skipped, saying so, where there is no OpenCL device; where one is required it runs and fails opening it.
    @Test("a test-sized soak on the OpenCL device keeps buffers and resident memory flat", requiresOpenCL)
    func soak() throws {
        let device = try #require(try TestDevices.openCL().openCLDescription)
        // `bimt soak` itself holds a run to < 1 % growth (the 20-minute soak in docs/ROBUSTNESS.md). This
        // test-sized run of the debug binary allows 3 %: enough to catch the ~0.4 KiB-per-step
        // PoCL command leak (~4.4 % here) without flaking on allocator noise.
        let result = try bimt(["soak", "--device", device.specifier, "--warmup", "1000", "--steps", "12000", "--json"])
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            "\(result.output) \(result.error)")
        // An OpenCL device's name ends with its specifier; the CPU path's does not.
        let soaked = report["device"] as? String ?? ""
        #expect(soaked.contains(device.specifier), "the soak ran on \(soaked), not on \(device.specifier)")
        #expect(report["buffersAfterWarmup"] as? Int == report["buffersAtEnd"] as? Int)
        let before = try #require(report["residentBytesAfterWarmup"] as? Int),
            after = try #require(report["residentBytesAtEnd"] as? Int)
        #expect(Double(after - before) / Double(before) < 0.03, "resident memory \(before) -> \(after)")
    }

    @Test("transformer bad input: no or bad --text, heads that do not divide the width, sequences beyond the context")
    func transformerBadInput() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-cli-gpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appending(path: "empty.txt"), binary = directory.appending(path: "binary.txt")
        try Data().write(to: empty)
        try Data([0xC3, 0x28, 0xFF]).write(to: binary)
        let out = directory.appending(path: "run").path
        let cases: [([String], String)] = [
            (
                ["--preset", "charlm", "--warmup-steps", "0"],
                "--data/--text/--tokens (task.path): a text task needs a UTF-8 file"
            ),
            (["--preset", "charlm", "--warmup-steps", "0", "--text", empty.path], "is empty"),
            (["--preset", "charlm", "--warmup-steps", "0", "--text", binary.path], "is not valid UTF-8"),
            (["--preset", "charlm"], "--warmup-steps (learningRateSchedule.warmupSteps): must lie in 0 ..< 1"),
            (
                ["--preset", "independence", "--text", empty.path],
                "--data/--text/--tokens (task.path): a text file trains a character-level transformer (preset charlm), "
                    + "not an MLP"
            ),
            (
                ["--preset", "modadd-seq", "--heads", "3"],
                "--heads (transformer.heads): 3 heads do not divide the width 128"
            ),
            (["--preset", "modadd-seq", "--context", "2"], "longer than the model's context of 2"),
            (["--preset", "modadd-seq", "--shape", "4,4"], "--shape (architecture.widths): widths shape an MLP"),
            (
                ["--preset", "gpt-bench", "--width", "32768", "--device", "opencl"],
                "parameters and optimizer state take the most: lower the layers or the width"
            ),
        ]
        for (arguments, message) in cases {
            let result = try bimt(["train"] + arguments + ["--steps", "1", "--out", out, "--quiet"])
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
        }
        let mlp = directory.appending(path: "mlp").path
        #expect(try bimt(["train", "--steps", "10", "--out", mlp, "--quiet"]).status == 0)
        let sample = try bimt(["sample", mlp, "--prompt", "x"])
        #expect(sample.status != 0 && sample.error.contains("is not a language model"), "\(sample.error)")
    }

    // Only a processor newer than the forced kernels can be warned about: elsewhere the test is
    // skipped, saying so (a processor's features are no component an install can add).
    @Test(
        "devices warns when OpenBLAS runs kernels older than the processor supports",
        .enabled(if: processorHasAVX2, "/proc/cpuinfo reports no AVX2: no older OpenBLAS kernels to force"))
    func oldBLASKernels() throws {
        // OpenBLAS's own choice may be old on some machines (a CPUID model it does not know):
        // kernels that fit this processor must not be warned about.
        let fine = try bimt(["devices"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(fine.status == 0 && !fine.output.contains("OPENBLAS_CORETYPE"), "\(fine.output)")
        // Left to itself, bimt restarts with the kernels that fit when OpenBLAS picked older ones.
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil {
            let automatic = try bimt(["devices"])
            #expect(automatic.status == 0 && !automatic.output.contains("OpenBLAS chose its"), "\(automatic.output)")
        }
        let forced = try bimt(["devices"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(
            forced.status == 0 && forced.output.contains("OpenBLAS chose its Prescott kernels")
                && forced.output.contains("OPENBLAS_CORETYPE="),
            "\(forced.output)")
    }
}

@Suite("Command-line behaviour a user hits")
struct CommandLineBehaviourTests {
    static func temporaryRun() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "bimt-cli-\(UUID().uuidString)")
    }

    @Test("a usage error exits 64 with the usage text; a runtime failure exits 1 with its message alone")
    func exitCodes() throws {
        let usage = try bimt(["train", "--relocation", "sideways"])
        #expect(usage.status == 64 && usage.error.contains("Usage:"), "\(usage.status): \(usage.error)")
        let missing = try bimt(["analyze", "/no/such/run"])
        #expect(
            missing.status == 1 && missing.error.contains("Error:") && !missing.error.contains("Usage:"),
            "\(missing.status): \(missing.error)")
    }

    @Test("--resume DIR --steps N extends a finished run to N steps; other settings with --resume are refused")
    func resumeExtends() throws {
        let run = Self.temporaryRun()
        defer { try? FileManager.default.removeItem(at: run) }
        #expect(try bimt(["train", "--steps", "400", "--out", run.path, "--quiet", "--device", "cpu"]).status == 0)
        let extended = try bimt(["train", "--resume", run.path, "--steps", "600", "--quiet", "--device", "cpu"])
        #expect(extended.status == 0 && extended.output.contains("step 600"), "\(extended.error)")
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appending(path: "config.json")))
            as? [String: Any]
        #expect(config?["steps"] as? Int == 600)
        let metrics = try String(contentsOf: run.appending(path: "metrics.csv"), encoding: .utf8)
        #expect(metrics.contains("\n400,") && metrics.contains("\n600,"))
        let shorter = try bimt(["train", "--resume", run.path, "--steps", "100", "--device", "cpu"])
        #expect(shorter.status != 0 && shorter.error.contains("is at step 600"), "\(shorter.error)")
        let other = try bimt(["train", "--resume", run.path, "--lr", "0.1", "--device", "cpu"])
        #expect(other.status == 64 && other.error.contains("only --steps"), "\(other.error)")
    }

    @Test("--activation on a transformer preset is an error, not ignored")
    func activationOnTransformer() throws {
        let result = try bimt(["train", "--preset", "modadd-seq", "--activation", "relu", "--steps", "1"])
        #expect(result.status == 64 && result.error.contains("always uses GELU"), "\(result.error)")
    }

    @Test("bench train on a transformer picks a bounded number of timed steps by default")
    func benchTrainBounded() throws {
        let result = try bimt([
            "bench", "train", "--preset", "gpt-bench", "--device", "cpu", "--repeat", "1", "--round-seconds", "0.2",
            "--json",
        ])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let steps = try #require(object["timed_steps_per_round"] as? Int)
        #expect(steps >= 3 && steps < 500, "\(steps) steps")
    }
}
