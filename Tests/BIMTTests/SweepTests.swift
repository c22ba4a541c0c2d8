@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// `bimt sweep`: the grid, its refusals, a sweep interrupted and resumed, and the study files.
@Suite("sweeps")
struct SweepTests {
    static func base(steps: Int = 200) throws -> TrainingConfiguration {
        var c = try TrainingConfiguration.preset("independence")
        c.steps = steps
        c.checkpointEvery = 50
        c.logEvery = 50
        c.snapshotBudget = 0
        return c
    }

    static func temporary() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "bimt-sweep-\(UUID().uuidString)")
    }

    @Test("the grid: a run per lambda, method and seed (none: per seed), named; empty or repeated grids refused")
    func grid() throws {
        let sweep = try Sweep(
            base: Self.base(), lambdas: [0.01, 0.1], methods: [.bimt, .l1, .none], seeds: [1, 2],
            directory: Self.temporary())
        #expect(sweep.runs.count == 2 * 2 + 2 * 2 + 2)
        #expect(sweep.runs.first?.name == "bimt-lambda-0.01-seed-1" && sweep.runs.last?.name == "none-seed-2")
        let l1 = try #require(sweep.runs.first { $0.method == .l1 })
        #expect(l1.configuration.cost.weightFactor == 0 && l1.configuration.relocation.method == .off)
        #expect(l1.configuration.lambda == 0.01 && l1.configuration.seed == 1)
        let none = try #require(sweep.runs.first { $0.method == .none })
        #expect(none.configuration.lambda == 0 && none.lambda == nil)
        let bad: [([Float], [SweepMethod], [UInt64])] = [
            ([0.1], [], [1]), ([0.1], [.bimt], []), ([], [.bimt], [1]), ([-1], [.l1], [1]), ([0.1, 0.1], [.bimt], [1]),
        ]
        for (lambdas, methods, seeds) in bad {
            #expect(throws: BIMTError.self) {
                try Sweep(
                    base: Self.base(), lambdas: lambdas, methods: methods, seeds: seeds, directory: Self.temporary())
            }
        }
        #expect(
            try Sweep(base: Self.base(), lambdas: [], methods: [.none], seeds: [3], directory: Self.temporary())
                .runs.count == 1)
    }

    @Test("a run that diverges is recorded, not retried, and noted in the study; an unreadable checkpoint is an error")
    func divergedAndUnreadable() throws {
        let directory = Self.temporary()
        defer { try? FileManager.default.removeItem(at: directory) }
        var base = try Self.base(steps: 100)
        base.learningRate = 1e30 // diverges at once
        let sweep = try Sweep(base: base, lambdas: [0.01], methods: [.bimt], seeds: [1], directory: directory)
        var lines: [String] = []
        try sweep.train(device: Device.cpu(), report: { lines.append($0) })
        guard case .diverged = try sweep.state(of: sweep.runs[0]) else {
            Issue.record("not recorded as diverged: \(lines)")
            return
        }
        lines = []
        try sweep.train(device: Device.cpu(), report: { lines.append($0) })
        #expect(lines.count == 1 && lines[0].contains("not retried"), "\(lines)")
        let rows = try sweep.analyze(device: Device.cpu(), lossBudget: 0.05, nulls: 2)
        #expect(rows.count == 1 && rows[0].report == nil && rows[0].note?.hasPrefix("diverged") == true)
        // A checkpoint that cannot be read stops the sweep rather than clearing the run.
        try FileManager.default.removeItem(at: sweep.directory(of: sweep.runs[0]).appending(path: "diverged.txt"))
        try Data("not a checkpoint".utf8).write(
            to: sweep.directory(of: sweep.runs[0]).appending(path: Trainer.checkpointName))
        #expect(throws: (any Error).self) { try sweep.train(device: Device.cpu(), report: { _ in }) }
    }

    @Test("a sweep stopped mid-run resumes it from its checkpoint, to the same weights as one never stopped")
    func interruptedAndResumed() throws {
        let directory = Self.temporary()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sweep = try Sweep(
            base: Self.base(), lambdas: [0.01], methods: [.bimt, .none], seeds: [1], directory: directory)
        var calls = 0, lines: [String] = []
        // Stop during the first run, after 120 of its 200 steps.
        try sweep.train(
            device: Device.cpu(), report: { lines.append($0) },
            shouldStop: {
                calls += 1; return calls > 120
            })
        #expect(try sweep.state(of: sweep.runs[0]) == .interrupted(step: 120))
        #expect(try sweep.state(of: sweep.runs[1]) == .notStarted)
        lines = []
        try sweep.train(device: Device.cpu(), report: { lines.append($0) })
        #expect(lines.first?.contains("resuming at step 120") == true, "\(lines)")
        #expect(try sweep.runs.allSatisfy { try sweep.state(of: $0) == .finished })
        // The resumed run ends where an uninterrupted one does (the CPU path resumes bit-identically).
        let alone = Self.temporary()
        defer { try? FileManager.default.removeItem(at: alone) }
        let trainer = try Trainer(configuration: sweep.runs[0].configuration, device: Device.cpu(), runDirectory: alone)
        try trainer.run()
        let resumed = try Checkpoint.read(
            from: sweep.directory(of: sweep.runs[0]).appending(path: Trainer.checkpointName))
        let straight = try Checkpoint.read(from: alone.appending(path: Trainer.checkpointName))
        #expect(resumed.tensors == straight.tensors)
        // A third start trains nothing.
        lines = []
        try sweep.train(device: Device.cpu(), report: { lines.append($0) })
        #expect(lines.count == 2 && lines.allSatisfy { $0.contains("finished already") }, "\(lines)")
        // The study: a row per run, the table and the picture.
        // Every run is pruned to the no-penalty run's loss plus the budget (or noted as above it).
        let rows = try sweep.analyze(device: Device.cpu(), lossBudget: 0.05, nulls: 3)
        let reference = try #require(rows.first { $0.run.method == .none }?.report)
        #expect(rows.count == 2)
        for row in rows {
            if let report = row.report {
                #expect(report.lossCeiling == reference.lossBefore + 0.05, "\(row.run.name)")
                #expect(report.lossAfter <= reference.lossBefore + 0.05, "\(row.run.name)")
            } else {
                #expect(row.note?.contains("before pruning") == true, "\(row.run.name): \(row.note ?? "")")
            }
        }
        let csv = try String(contentsOf: directory.appending(path: "study.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3 && csv.hasPrefix("run,method,lambda,seed,loss"))
        // Every row has every column; the analyzed runs give their weights kept per kind of matrix.
        let table = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(table.allSatisfy { $0.count == table[0].count } && table[0].last == "alive", "\(table)")
        let mlp = try #require(table[0].firstIndex(of: "kept_mlp"))
        for (row, line) in zip(rows, table.dropFirst()) where row.report != nil {
            let kept = try #require(row.report?.familiesKept?["mlp"])
            #expect(abs((Double(line[mlp]) ?? -1) - kept) < 1e-5, "\(line)")
        }
        #expect(try String(contentsOf: directory.appending(path: "study.svg"), encoding: .utf8).contains("<circle"))
        #expect(FileManager.default.fileExists(atPath: directory.appending(path: "study.md").path))
        // The study's page links each run's viewer, written beside its checkpoint.
        let page = try String(contentsOf: directory.appending(path: "index.html"), encoding: .utf8)
        for run in sweep.runs {
            #expect(page.contains("<a href=\"\(run.name)/view.html\">\(run.name)</a>"), "\(run.name)")
            let viewer = try String(
                contentsOf: sweep.directory(of: run).appending(path: "view.html"), encoding: .utf8)
            #expect(viewer.hasPrefix("<!DOCTYPE html>") || viewer.contains("<html"))
        }
        // The same directory with another configuration is refused before anything is trained.
        let other = try Sweep(
            base: Self.base(steps: 300), lambdas: [0.01], methods: [.bimt, .none], seeds: [1], directory: directory)
        #expect(throws: BIMTError.self) { try other.prepare() }
    }

    @Test("ranks share a sweep out: run i to rank i mod ranks, and together they train every run once")
    func shared() throws {
        let directory = Self.temporary()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sweep = try Sweep(
            base: Self.base(), lambdas: [0.01, 0.1], methods: [.bimt, .none], seeds: [1], directory: directory)
        #expect(sweep.runs.count == 3)
        var lines: [String] = []
        try sweep.train(device: Device.cpu(), share: (1, 2), report: { lines.append($0) })
        #expect(lines.count == 1 && lines[0].contains("run 2 of 3"), "\(lines)")
        #expect(try sweep.runs.map { try sweep.state(of: $0) } == [.notStarted, .finished, .notStarted])
        lines = []
        try sweep.train(device: Device.cpu(), share: (0, 2), report: { lines.append($0) })
        #expect(lines.count == 2 && lines[0].contains("run 1 of 3") && lines[1].contains("run 3 of 3"), "\(lines)")
        #expect(try sweep.runs.allSatisfy { try sweep.state(of: $0) == .finished })
    }
}
