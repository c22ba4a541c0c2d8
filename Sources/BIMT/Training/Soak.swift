import BIMTCompute
import Foundation

/// A long training run that watches for leaks: after a warm-up it samples the live buffer
/// count and the process's resident memory while training continues with relocations and
/// checkpoints. Both must stay flat.
public struct SoakReport: Sendable, Codable {
    /// The device's name.
    public var device: String
    /// Steps after the warm-up.
    public var steps: Int
    /// Their wall-clock seconds.
    public var seconds: Double
    /// Live device buffers after the warm-up.
    public var buffersAfterWarmup: Int
    /// Live device buffers at the end.
    public var buffersAtEnd: Int
    /// Resident memory after the warm-up.
    public var residentBytesAfterWarmup: Int
    /// Resident memory at the end.
    public var residentBytesAtEnd: Int
    /// Resident memory growth over the soak, as a fraction.
    public var residentGrowth: Double {
        Double(residentBytesAtEnd - residentBytesAfterWarmup) / Double(max(1, residentBytesAfterWarmup))
    }
    /// Buffer count constant, resident growth under 1 %.
    public var passed: Bool { buffersAtEnd == buffersAfterWarmup && residentGrowth < 0.01 }
}

/// A long run that checks for leaks (`bimt soak`).
public enum Soak {
    /// Resident memory of this process (Linux /proc/self/statm), in bytes.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Trains the two-moons preset (relocation every 200 steps, a checkpoint every 500) for
    /// `warmup` steps, then until `steps` more have run or `seconds` have passed.
    public static func run(device: Device, warmup: Int = 1000, steps: Int?, seconds: Double?) throws -> SoakReport {
        var configuration = try TrainingConfiguration.preset("two-moons")
        configuration.steps = Int(Int32.max)
        configuration.logEvery = 500
        configuration.checkpointEvery = 500
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-soak-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try Trainer(configuration: configuration, device: device, runDirectory: directory)
        try trainer.run(until: warmup)
        try device.synchronize()
        let buffers = Buffer.liveCount, resident = residentBytes()
        let start = Date()
        let end = warmup + (steps ?? Int(Int32.max) - warmup - 1)
        while trainer.step < end {
            try trainer.run(until: min(end, trainer.step + 500))
            if let seconds, Date().timeIntervalSince(start) >= seconds { break }
        }
        try device.synchronize()
        return SoakReport(
            device: device.name, steps: trainer.step - warmup, seconds: Date().timeIntervalSince(start),
            buffersAfterWarmup: buffers, buffersAtEnd: Buffer.liveCount,
            residentBytesAfterWarmup: resident, residentBytesAtEnd: residentBytes())
    }
}
