import BIMTCompute
import Foundation
import Testing

/// Whether the real components some tests need (an OpenCL device, headless Chromium for the
/// page test) are required: in CI (`CI=true`) or when asked for (`BIMT_REQUIRE_OPENCL=1`). A
/// missing one then fails the tests that need it; elsewhere they say they did not run it.
public let requireRealComponents: Bool = {
    let environment = ProcessInfo.processInfo.environment
    return environment["CI"] == "true" || environment["BIMT_REQUIRE_OPENCL"] == "1"
}()

/// The devices tests run on: the CPU path always, and the first OpenCL device (PoCL's CPU
/// device here and in CI). OpenCL coverage must not vanish quietly: where OpenCL is
/// required (`requireRealComponents`) a missing device fails every test that would have
/// used it; elsewhere those tests record a warning saying they ran without it.
public enum TestDevices {
    public static let openCLAvailable: Bool = !((try? OpenCLDiscovery.devices()) ?? []).isEmpty

    /// Whether a missing OpenCL device is a failure rather than a warning.
    public static var openCLRequired: Bool { requireRealComponents }

    /// Whether tests of the OpenCL path should run: a device is there, or one is required
    /// (the test then fails opening it, naming what is missing).
    public static var runOpenCLTests: Bool { openCLAvailable || openCLRequired }

    public static func cpu() -> Device { Device.cpu() }

    /// The first OpenCL device with the given GEMM variant.
    public static func openCL(_ variant: GemmVariant = .automatic) throws -> Device {
        guard openCLAvailable else {
            throw ComputeError.invalidArgument(
                "no OpenCL device, but this run requires one (CI=true or BIMT_REQUIRE_OPENCL=1): "
                    + "install pocl-opencl-icd "
                    + "(scripts/install-deps) and check `clinfo -l`")
        }
        return try Device.open(.anyOpenCL, gemmVariant: variant).device
    }

    /// The CPU path, plus the first OpenCL device (see the type's note on a missing one).
    public static func all(sourceLocation: SourceLocation = #_sourceLocation) throws -> [Device] {
        if !openCLAvailable {
            if openCLRequired { _ = try openCL() }
            Issue.record(
                "no OpenCL device on this machine: ran on the CPU path only", severity: .warning,
                sourceLocation: sourceLocation)
            return [cpu()]
        }
        return [cpu(), try openCL()]
    }

    /// The names of `all()`'s devices, for parameterized tests; "opencl" stands for the
    /// OpenCL device whenever one is expected.
    public static var names: [String] { runOpenCLTests ? ["cpu", "opencl"] : ["cpu"] }

    /// The CPU path with bf16 products, or nil (with a warning) where this machine cannot run
    /// them. Where real components are required, an AVX-512 machine without them (oneDNN
    /// missing) fails instead: scripts/install-deps installs oneDNN.
    public static func bf16CPU(sourceLocation: SourceLocation = #_sourceLocation) throws -> Device? {
        let device = Device.cpu(), support = device.bf16Support
        if support.available {
            try device.setMatrixPrecision(.bf16)
            return device
        }
        if requireRealComponents && CPUFeatures.processorFlags.contains("avx512f") {
            Issue.record("bf16 products must run here: \(support.reason)", sourceLocation: sourceLocation)
        } else {
            Issue.record(
                "bf16 products not tested: \(support.reason)", severity: .warning, sourceLocation: sourceLocation)
        }
        return nil
    }

    /// The device a name from `names` stands for.
    public static func named(_ name: String) throws -> Device {
        name == "opencl" ? try openCL() : cpu()
    }
}

/// A trait for tests of the OpenCL path: they run where a device exists or one is required.
public let requiresOpenCL: ConditionTrait = .enabled(if: TestDevices.runOpenCLTests, "no OpenCL device on this machine")
