import ArgumentParser
import BIMTCompute
import Foundation

@main
struct BIMTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bimt",
        abstract: "Brain-Inspired Modular Training on OpenCL devices and a fast CPU path.",
        subcommands: [
            TrainCommand.self, SweepCommand.self, SampleCommand.self, AnalyzeCommand.self, RenderCommand.self,
            ViewCommand.self,
            DevicesCommand.self, BenchCommand.self, TuneCommand.self, SoakCommand.self,
        ]
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
                unsetenv("OPENBLAS_CORETYPE") // exec failed: go on with OpenBLAS's choice
            } else {
                // Without the variable a restart would pick the same kernels again (and again).
                printError(
                    "warning: could not set OPENBLAS_CORETYPE=\(core) (\(String(cString: strerror(errno)))); "
                        + "going on with OpenBLAS's own kernels")
            }
        }
        main(nil)
    }
}
