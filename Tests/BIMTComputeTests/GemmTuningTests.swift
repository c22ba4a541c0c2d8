@testable import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("GEMM tuning", .serialized, requiresOpenCL)
struct GemmTuningTests {
    static func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appending(path: "bimt-tuning-\(UUID().uuidString)/gemm-tuning.json")
    }

    static let shapes = [GemmShape(64, 48, 200), GemmShape(70, 33, 129, transposeB: true)]

    @Test("the verified winner is stored for the device, and a device opened later builds its GEMM with it")
    func storesAndPicksUp() throws {
        let url = Self.temporaryFile()
        var store = GemmTuningStore(url: url)
        let report = try GemmTuner.tune(.anyOpenCL, shapes: Self.shapes, repeats: 1, maxCandidates: 4, store: &store)
        let winner = try #require(report.winner)
        #expect(report.trials.count == 4 && report.trials.allSatisfy { $0.gflops != nil })
        // The winner is one of the finalists: the three fastest candidates and the defaults (tried first), timed again.
        let finalists =
            report.trials.filter { $0.gflops != nil }.sorted { $0.gflops! > $1.gflops! }.prefix(3).map(\.values) + [
                report.trials[0].values
            ]
        #expect(finalists.contains(winner.values) && winner.gflops > 0 && winner.defaultGflops > 0)
        let reread = GemmTuningStore(url: url)
        #expect(reread.warnings.isEmpty && reread.entries == [winner])
        let device = try Device.open(.anyOpenCL, gemmTuningStore: reread).device
        #expect(device.gemmTuning == winner.values)
        // The stored settings compute the right product.
        let result = try GemmBenchmark.run(
            device: device, m: 50, n: 70, k: 90, transposeA: true, transposeB: false, repeats: 1, settle: false)
        #expect(result.maxRelError < 1e-5)
        // Tuning again replaces the device's entry rather than adding one.
        _ = try GemmTuner.tune(.anyOpenCL, shapes: Self.shapes, repeats: 1, maxCandidates: 1, store: &store)
        #expect(GemmTuningStore(url: url).entries.count == 1)
    }

    @Test("candidates that fail verification are never stored")
    func failuresNotStored() throws {
        let url = Self.temporaryFile()
        var store = GemmTuningStore(url: url)
        // A zero tolerance: over k = 1000 OpenBLAS sums in blocks of k, the OpenCL kernels in one
        // running sum, so no candidate matches it bit for bit.
        let report = try GemmTuner.tune(
            .anyOpenCL, shapes: [GemmShape(64, 48, 1000)], repeats: 1, tolerance: 0, maxCandidates: 3,
            store: &store)
        #expect(report.winner == nil)
        #expect(!report.trials.isEmpty && report.trials.allSatisfy { $0.failure?.contains("wrong result") == true })
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test(
        "a corrupt or foreign file, another device's entry and settings the device cannot run fall back to the defaults"
    )
    func badFiles() throws {
        let defaults = try #require(
            try Device.open(.anyOpenCL, gemmTuningStore: GemmTuningStore(url: nil)).device.gemmTuning)
        let description = try #require(try Device.open(.anyOpenCL).device.openCLDescription)
        let url = Self.temporaryFile()
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        func opened(_ text: String) throws -> (GemmTuningStore, [String: Int]?) {
            try Data(text.utf8).write(to: url)
            let store = GemmTuningStore(url: url)
            return (store, try Device.open(.anyOpenCL, gemmTuningStore: store).device.gemmTuning)
        }
        let (corrupt, corruptTuning) = try opened("{\"format\": \"bimt-gemm-tuning\", \"version\": 1, \"entries\": [")
        #expect(corrupt.warnings.count == 1 && corruptTuning == defaults)
        let (foreign, foreignTuning) = try opened("{\"format\": \"other\", \"version\": 3, \"entries\": []}")
        #expect(foreign.warnings.first?.contains("is not bimt-gemm-tuning") == true && foreignTuning == defaults)
        func entry(device: String, values: [String: Int]) -> String {
            let encoded = values.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
            return """
                {"format": "bimt-gemm-tuning", "version": 1, "entries": [{"device": "\(device)", \
                "platform": "\(description.platformName)",
                 "driver": "\(description.driverVersion)", \
                "variant": "\(try! Device.open(.anyOpenCL).device.gemmVariant!.rawValue)",
                 "values": {\(encoded)}, "gflops": 1, "defaultGflops": 1, "shapes": []}]}
                """
        }
        var changed = defaults
        changed[defaults["RM"] != nil ? "RM" : "TSK"]! *= 2 // a different setting the device can run
        let (_, otherDevice) = try opened(entry(device: "some other device", values: changed))
        #expect(otherDevice == defaults)
        let (_, same) = try opened(entry(device: description.name, values: changed))
        #expect(same == changed, "an entry for this device is used")
        var impossible = defaults
        for key in impossible.keys { impossible[key] = 100_000 }
        let (_, refused) = try opened(entry(device: description.name, values: impossible))
        #expect(refused == defaults)
    }

    @Test("work-group sizes: the verified winner is stored with the GEMM settings and used by a device opened later")
    func workGroups() throws {
        let small = WorkGroupTuner.Size.small
        let report = try WorkGroupTuner.tune(
            .anyOpenCL, variant: .automatic, gemmTuning: nil, repeats: 1, tolerance: 1e-4, maxCandidates: 3,
            size: small, progress: { _ in })
        let winner = try #require(report.winner)
        let before = try #require(
            try Device.open(.anyOpenCL, gemmTuningStore: GemmTuningStore(url: nil)).device.workGroups)
        #expect(report.trials.count == 3 && report.trials[0].values == before)
        #expect(report.trials.allSatisfy { $0.seconds != nil }, "\(report.trials.compactMap(\.failure))")
        #expect(
            report.trials.contains { $0.values == winner.values } && winner.seconds > 0
                && (winner.defaultSeconds ?? 0) > 0)
        // Candidates differ from the current sizes in one size each (the first stage: group).
        #expect(
            report.trials.dropFirst().allSatisfy { trial in
                trial.values.filter { before[$0.key] != $0.value }.map(\.key) == ["group"]
            })

        // Stored beside the GEMM settings, the sizes reach the kernels of a device opened later.
        let url = Self.temporaryFile()
        var store = GemmTuningStore(url: url)
        var entry = try #require(
            try GemmTuner.tune(.anyOpenCL, shapes: Self.shapes, repeats: 1, maxCandidates: 1, store: &store).winner)
        let chosen = ["group": 32, "pointwise": 128, "row": 32, "reduction": 128]
        entry.groups = chosen
        try store.store(entry)
        let device = try Device.open(.anyOpenCL, gemmTuningStore: GemmTuningStore(url: url)).device
        #expect(device.workGroups == chosen)
        let backend = try #require(device.backend as? OpenCLBackend)
        #expect(backend.programs.buildOptions(for: "softmax").contains("-D ROW_LOCAL=32"))
        // A training-sized pass gives the CPU path's results with them.
        let expected = try WorkGroupTuner.Workload(Device.cpu(), size: small)
        let workload = try WorkGroupTuner.Workload(device, size: small)
        try expected.run()
        try workload.run()
        for ((name, got), (_, want)) in zip(try workload.results(), try expected.results()) {
            expectClose(got, want, tolerance: 1e-4, name)
        }
        // Sizes the device cannot run, or an entry naming other sizes, are ignored with a reason.
        for bad in [
            ["group": 3, "pointwise": 64, "row": 64, "reduction": 64],
            ["group": 1 << 20, "pointwise": 64, "row": 64, "reduction": 64], ["row": 64],
        ] {
            entry.groups = bad
            try store.store(entry)
            let reread = GemmTuningStore(url: url)
            let description = try #require(device.openCLDescription)
            #expect(reread.groups(for: description, variant: try #require(device.gemmVariant)).problem != nil)
            #expect(try Device.open(.anyOpenCL, gemmTuningStore: reread).device.workGroups == before)
        }
        // A GEMM-only tuning keeps the stored sizes.
        entry.groups = chosen
        try store.store(entry)
        entry.groups = nil
        try store.store(entry)
        #expect(GemmTuningStore(url: url).entries.first?.groups == chosen)
        // BIMT_OPENCL_GROUPS wins over what is stored; the class sizes apply without either.
        let stored = try #require(WorkGroups(values: chosen))
        #expect(
            try WorkGroups.forDevice(type: "GPU", maxWorkGroupSize: 1024, environment: [:], stored: stored) == stored)
        #expect(
            try WorkGroups.forDevice(
                type: "GPU", maxWorkGroupSize: 1024, environment: ["BIMT_OPENCL_GROUPS": "gpu"], stored: stored)
                == .gpuClass)
        #expect(WorkGroupTuner.candidates(around: 64, multiple: 8, limit: 4096) == [16, 32, 128, 256])
        #expect(WorkGroupTuner.candidates(around: 16, multiple: 32, limit: 64) == [32, 64])
    }
}
