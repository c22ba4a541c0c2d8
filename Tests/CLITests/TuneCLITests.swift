import Foundation
import Testing
import TestSupport

@Suite("bimt tune and bench attention")
struct TuneCLITests {
    @Test(
        "tune stores a verified winner in the named file; the CPU path and bad shapes are clear errors", requiresOpenCL)
    func tune() throws {
        let file = FileManager.default.temporaryDirectory.appending(
            path: "bimt-cli-tune-\(UUID().uuidString)/gemm-tuning.json")
        let run = try bimt(
            [
                "tune", "--device", "opencl", "--shape", "96x64x80", "80x48x64:NT", "--repeat", "1", "--max-candidates",
                "3", "--no-work-groups",
            ],
            environment: ["BIMT_GEMM_TUNING_FILE": file.path])
        #expect(
            run.status == 0 && run.output.contains("best of 3") && run.output.contains("stored for")
                && !run.output.contains("work-groups"), "\(run.error)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any]
        #expect((json?["entries"] as? [Any])?.count == 1)
        // With the work-group search (its quick workload): the sizes join the device's entry.
        let groups = try bimt(
            [
                "tune", "--device", "opencl", "--shape", "96x64x80", "--repeat", "1", "--max-candidates", "2",
                "--work-group-workload", "small",
            ],
            environment: ["BIMT_GEMM_TUNING_FILE": file.path])
        #expect(groups.status == 0 && groups.output.contains("best work-groups of 2"), "\(groups.error)")
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any]
        let entries = stored?["entries"] as? [[String: Any]]
        #expect(entries?.count == 1 && (entries?[0]["groups"] as? [String: Int])?.count == 4, "\(stored ?? [:])")
        // The work-group search alone keeps the stored GEMM settings and replaces the sizes.
        let gemm = entries?[0]["values"] as? [String: Int]
        let alone = try bimt(
            [
                "tune", "--device", "opencl", "--only-work-groups", "--work-group-workload", "small", "--repeat", "1",
                "--max-candidates", "2",
            ],
            environment: ["BIMT_GEMM_TUNING_FILE": file.path])
        #expect(
            alone.status == 0 && alone.output.contains("best work-groups of 2") && !alone.output.contains("GFLOP/s"),
            "\(alone.output) \(alone.error)")
        let after =
            (try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])?["entries"]
            as? [[String: Any]]
        #expect(after?.count == 1 && after?[0]["values"] as? [String: Int] == gemm && after?[0]["groups"] != nil)
        // With nothing stored yet, the sizes are stored with the device's current GEMM settings.
        let fresh = file.deletingLastPathComponent().appending(path: "fresh.json")
        let first = try bimt(
            [
                "tune", "--device", "opencl", "--only-work-groups", "--work-group-workload", "small", "--repeat", "1",
                "--max-candidates", "2",
            ],
            environment: ["BIMT_GEMM_TUNING_FILE": fresh.path])
        let created =
            (try JSONSerialization.jsonObject(with: Data(contentsOf: fresh)) as? [String: Any])?["entries"]
            as? [[String: Any]]
        #expect(first.status == 0 && created?.count == 1 && created?[0]["groups"] != nil, "\(first.error)")
        let both = try bimt(["tune", "--device", "opencl", "--only-work-groups", "--no-work-groups"])
        #expect(both.status == 64 && both.error.contains("--only-work-groups"), "\(both.error)")
        let workload = try bimt(["tune", "--device", "opencl", "--work-group-workload", "huge"])
        #expect(workload.status == 64 && workload.error.contains("gpt-small or small"), "\(workload.error)")
        let cpu = try bimt(["tune", "--device", "cpu"])
        #expect(cpu.status != 0 && cpu.error.contains("tuning is for OpenCL devices"))
        let shape = try bimt(["tune", "--device", "opencl", "--shape", "12x3"])
        #expect(shape.status != 0 && shape.error.contains("is not MxNxK"))
    }

    @Test("bench attention reports both paths and their agreement")
    func benchAttention() throws {
        let run = try bimt([
            "bench", "attention", "--device", "cpu", "--sequences", "2", "--length", "70", "--heads", "2",
            "--head-dimension", "8", "--repeat", "1", "--json",
        ])
        #expect(run.status == 0, "\(run.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.map { $0["kernel"] as? String } == ["fused", "unfused"])
        #expect(results.allSatisfy { ($0["max_rel_diff"] as? Double ?? 1) < 1e-5 })
        #expect((results[0]["stored_bytes"] as? Int ?? 0) < (results[1]["stored_bytes"] as? Int ?? 0))
        let bad = try bimt(["bench", "attention", "--dropout", "1"])
        #expect(bad.status != 0 && bad.error.contains("--dropout must lie in [0, 1)"))
    }
}
