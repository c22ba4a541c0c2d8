import ArgumentParser
import BIMTCompute
import Foundation

@main
struct BIMTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bimt",
        abstract: "Brain-Inspired Modular Training on OpenCL devices and a fast CPU path.",
        subcommands: [TrainCommand.self, SampleCommand.self, AnalyzeCommand.self, RenderCommand.self, ViewCommand.self, DevicesCommand.self, BenchCommand.self, TuneCommand.self, SoakCommand.self]
    )

    /// When OpenBLAS picked kernels older than the processor supports and nobody chose a core
    /// type, starts over with the one that fits (OpenBLAS reads OPENBLAS_CORETYPE when it
    /// loads, before `main`): on an AVX-512 machine where it picked Prescott, 4x faster GEMMs.
    /// `CPUFeatures.suggestedBLASCore` asks for SkylakeX only where the processor has AVX-512
    /// F, VL, BW and DQ, for Haswell where it has AVX2 and FMA. Setting OPENBLAS_CORETYPE, to
    /// any core, keeps OpenBLAS's choice.
    static func main() {
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, let core = CPUFeatures.suggestedBLASCore {
            if setenv("OPENBLAS_CORETYPE", core, 1) == 0 {
                execv("/proc/self/exe", CommandLine.unsafeArgv)
                unsetenv("OPENBLAS_CORETYPE")   // exec failed: go on with OpenBLAS's choice
            } else {
                // Without the variable a restart would pick the same kernels again (and again).
                printError("warning: could not set OPENBLAS_CORETYPE=\(core) (\(String(cString: strerror(errno)))); "
                           + "going on with OpenBLAS's own kernels")
            }
        }
        main(nil)
    }
}

/// `--device` for every subcommand that computes.
struct DeviceOptions: ParsableArguments {
    @Option(help: "auto (an OpenCL GPU if present, else cpu), cpu, opencl (first OpenCL device), or opencl:P:D.")
    var device: String = "auto"

    @Option(help: "GEMM kernel on an OpenCL device: automatic, tiled (GPU shape) or vector (CPU-device shape).")
    var gemmVariant: String = "automatic"

    func validate() throws {
        _ = try specifier()
        guard GemmVariant(rawValue: gemmVariant) != nil else {
            throw ValidationError("unknown --gemm-variant '\(gemmVariant)'; use automatic, tiled or vector")
        }
        if gemmVariant != GemmVariant.automatic.rawValue, try specifier() == .cpu {
            throw ValidationError("--gemm-variant \(gemmVariant) does not apply to --device cpu: it shapes the "
                                  + "OpenCL GEMM kernel, and the CPU path runs OpenBLAS; drop --gemm-variant, or "
                                  + "give --device opencl (or opencl:P:D)")
        }
    }

    func specifier() throws -> DeviceSpecifier {
        do { return try DeviceSpecifier(parsing: device) } catch { throw ValidationError("\(error)") }
    }

    /// Opens the device, printing the one-line selection note to standard error. Process
    /// `localRank` of `localSize` on a node takes the device of its local rank (see
    /// `DeviceSpecifier.forLocalRank`); its note names its rank.
    func open(localRank: Int = 0, of localSize: Int = 1, rank: Int? = nil) throws -> Device {
        do {
            let specifier = try specifier().forLocalRank(localRank, of: localSize)
            let (device, note) = try Device.open(specifier, gemmVariant: GemmVariant(rawValue: gemmVariant) ?? .automatic)
            printError((rank.map { "rank \($0): " } ?? "") + note)
            if gemmVariant != GemmVariant.automatic.rawValue, device.kind == .cpu {
                throw ValidationError("--gemm-variant \(gemmVariant) does not apply: --device \(self.device) chose "
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

/// A failure while running (a file that cannot be read, a run that diverged, a device that
/// cannot be opened): printed as "Error: ..." without the usage text, exit status 1. Bad
/// flags and values are `ValidationError`s (usage text, exit status 64).
struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One line to standard error, in one write (the ranks of an MPI run share the stream).
func printError(_ text: String) {
    var standardError = StandardError()
    standardError.write(text + "\n")
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

import Foundation
