import ArgumentParser
import BIMTCompute
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List every OpenCL platform and device, then the CPU path."
    )

    func run() throws {
        let devices: [OpenCLDeviceDescription]
        do {
            devices = try OpenCLDiscovery.devices()
        } catch {
            print("OpenCL: unavailable (\(error))")
            devices = []
        }
        if let reason = OpenCLDiscovery.unavailableReason {
            print("OpenCL: unavailable (\(reason)); everything runs on the CPU path")
        } else if devices.isEmpty {
            print("OpenCL: no platform with devices")
        }
        var lastPlatform = -1
        for d in devices {
            if d.platformIndex != lastPlatform {
                print("platform \(d.platformIndex): \(d.platformName) — \(d.platformVersion)")
                lastPlatform = d.platformIndex
            }
            print("  \(d.specifier)  \(d.name)")
            print(
                "      type \(d.type), \(d.computeUnits) compute units, \(d.clockMHz) MHz, "
                    + "global memory \(mebibytes(d.globalMemoryBytes)), local memory \(kibibytes(d.localMemoryBytes)), "
                    + "max work-group \(d.maxWorkGroupSize), float vector width \(d.preferredFloatVectorWidth)")
            print("      \(d.deviceVersion); driver \(d.driverVersion); \(d.openCLCVersion)")
        }
        let cpu = Device.cpu()
        print("cpu: \(cpu.name)")
        print(
            "      \(ProcessInfo.processInfo.activeProcessorCount) cores, SIMD: \(CPUFeatures.simdSummary), "
                + "BLAS: OpenBLAS, single-threaded calls split over the cores")
        if let hint = CPUFeatures.blasKernelHint { print("      note: \(hint)") }
        let bf16 = cpu.bf16Support
        print(
            "      bf16 products: "
                + (bf16.available ? (bf16.native ? "native" : "emulated") + " (\(bf16.reason))" : "no (\(bf16.reason))")
        )
    }

    private func mebibytes(_ bytes: Int) -> String { "\(bytes / (1 << 20)) MiB" }
    private func kibibytes(_ bytes: Int) -> String { "\(bytes / (1 << 10)) KiB" }
}
