import ArgumentParser
import BIMTCompute
import Foundation

/// `--device` for every subcommand that computes.
struct DeviceOptions: ParsableArguments {
    @Option(help: "auto (an OpenCL GPU if present, else cpu), cpu, opencl (first OpenCL device), or opencl:P:D.")
    var device: String = "auto"

    @Option(help: "GEMM kernel on an OpenCL device: automatic, tiled (GPU shape) or vector (CPU-device shape).")
    var gemmVariant: String = "automatic"

    func validate() throws {
        _ = try specifier()
        _ = try Self.variant(gemmVariant)
        if gemmVariant != GemmVariant.automatic.rawValue, try specifier() == .cpu {
            throw ValidationError(
                "--gemm-variant \(gemmVariant) does not apply to --device cpu: it shapes the "
                    + "OpenCL GEMM kernel, and the CPU path runs OpenBLAS; drop --gemm-variant, or "
                    + "give --device opencl (or opencl:P:D)")
        }
    }

    func specifier() throws -> DeviceSpecifier { try Self.specifier(device) }

    /// `--device`'s value, or a usage error naming the devices there are.
    static func specifier(_ text: String) throws -> DeviceSpecifier {
        do { return try DeviceSpecifier(parsing: text) } catch { throw ValidationError("\(error)") }
    }

    /// `--gemm-variant`'s value, or a usage error listing the variants.
    static func variant(_ text: String) throws -> GemmVariant {
        guard let variant = GemmVariant(rawValue: text) else {
            throw ValidationError("unknown --gemm-variant '\(text)'; use automatic, tiled or vector")
        }
        return variant
    }

    /// Opens the device, printing the one-line selection note to standard error. Process
    /// `localRank` of `localSize` on a node takes the device of its local rank (see
    /// `DeviceSpecifier.forLocalRank`); its note names its rank.
    func open(localRank: Int = 0, of localSize: Int = 1, rank: Int? = nil) throws -> Device {
        do {
            let specifier = try specifier().forLocalRank(localRank, of: localSize)
            let (device, note) = try Device.open(
                specifier, gemmVariant: GemmVariant(rawValue: gemmVariant) ?? .automatic)
            printError((rank.map { "rank \($0): " } ?? "") + note)
            if gemmVariant != GemmVariant.automatic.rawValue, device.kind == .cpu {
                throw ValidationError(
                    "--gemm-variant \(gemmVariant) does not apply: --device \(self.device) chose "
                        + "the CPU path (no OpenCL GPU here), which runs OpenBLAS, not the OpenCL "
                        + "GEMM kernel; drop --gemm-variant, or give --device opencl (or opencl:P:D)")
            }
            if device.kind == .cpu, let hint = CPUFeatures.blasKernelHint { printError("note: " + hint) }
            return device
        } catch let error as ComputeError {
            throw RuntimeFailure("--device \(device): \(error.description)")
        }
    }
}

/// `--device` and `--gemm-variant` where nothing computes on a device (`render`, `view` draw a
/// checkpoint on the host): still accepted, so that older command lines run, but hidden, and
/// noted as unused when given.
struct DrawingDeviceOptions: ParsableArguments {
    @Option(help: .hidden) var device: String?
    @Option(help: .hidden) var gemmVariant: String?

    /// Values that would be refused where they apply are refused here too.
    func validate() throws {
        _ = try device.map(DeviceOptions.specifier)
        _ = try gemmVariant.map(DeviceOptions.variant)
    }

    func note(command: String) {
        if device != nil || gemmVariant != nil {
            printError("note: bimt \(command) draws on the host; --device and --gemm-variant are not used")
        }
    }
}
