@testable import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("OpenCL runtime", requiresOpenCL)
struct OpenCLRuntimeTests {
    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "bimt-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func backend(cache: KernelBinaryCache) throws -> OpenCLBackend {
        let handle = try #require(try OpenCLDiscovery.handles().first)
        return try OpenCLBackend(handle: handle, gemmVariant: .automatic, cache: cache)
    }

    @Test("a kernel that fails to build throws an error carrying the compiler log")
    func buildErrorCarriesLog() throws {
        let backend = try backend(cache: KernelBinaryCache(directory: nil))
        do {
            let source = "__kernel void k(__global float* x) { x[0] = undefined_name; }"
            _ = try backend.programs.buildProgram("broken", source: source)
            Issue.record("a broken kernel built")
        } catch let ComputeError.kernelBuildFailed(program, _, log) {
            #expect(program == "broken")
            #expect(log.contains("undefined_name"), "log: \(log)")
        }
    }

    @Test("compiled programs are cached on disk and a corrupt entry is rebuilt, not trusted")
    func binaryCache() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = KernelBinaryCache(directory: directory)
        let first = try backend(cache: cache)
        let source = OpenCLProgramCache.programSource("elementwise")
        let key = first.programs.cacheKey(source: source, options: first.programs.buildOptions(for: "elementwise"))

        let device = Device(backend: first)
        let x = try device.makeBuffer([1, 2, 3])
        try device.scale(x.whole, by: 2)
        #expect(try device.read(x.whole) == [2, 4, 6])
        #expect(cache.load(key: key) != nil, "the built program was not stored")

        // A well-formed entry whose binary is garbage: the loader must reject it and rebuild.
        cache.store(key: key, binary: Array(repeating: 0xAB, count: 4096))
        let second = Device(backend: try backend(cache: cache))
        let y = try second.makeBuffer([1, 2, 3])
        try second.scale(y.whole, by: 3)
        #expect(try second.read(y.whole) == [3, 6, 9])
        #expect(
            cache.load(key: key)?.starts(with: Array(repeating: 0xAB, count: 16)) == false,
            "the corrupt entry was not replaced")

        // A truncated file is ignored.
        let file = try #require(cache.url(for: key))
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count / 2).write(to: file)
        #expect(cache.load(key: key) == nil)
    }

    @Test("work-group sizes come from the device class and its limit; BIMT_OPENCL_GROUPS forces a class")
    func workGroups() throws {
        let gpu = try WorkGroups.forDevice(type: "GPU", maxWorkGroupSize: 1024, environment: [:])
        #expect(gpu == WorkGroups.gpuClass && gpu.group >= 128 && gpu.reduction >= 256)
        #expect(try WorkGroups.forDevice(type: "CPU", maxWorkGroupSize: 4096, environment: [:]) == .cpuClass)
        // A device with small work-groups caps every size (at a power of two).
        let small = try WorkGroups.forDevice(type: "accelerator", maxWorkGroupSize: 96, environment: [:])
        #expect(small == WorkGroups(group: 64, pointwise: 64, row: 64, reduction: 64))
        let forced = try WorkGroups.forDevice(
            type: "CPU", maxWorkGroupSize: 4096, environment: ["BIMT_OPENCL_GROUPS": "gpu"])
        #expect(forced == .gpuClass)
        #expect(throws: ComputeError.self) {
            try WorkGroups.forDevice(type: "CPU", maxWorkGroupSize: 4096, environment: ["BIMT_OPENCL_GROUPS": "big"])
        }
        // The constants every program gets follow the groups.
        let constants = KernelConstants(groups: gpu)
        #expect(constants.defines.contains("-D ROW_LOCAL=128") && constants.defines.contains("-D REDUCE_LOCAL=256"))
    }

    @Test("every shared kernel constant is a -D of every program and defined by no kernel file")
    func kernelConstantsComeFromTheHost() throws {
        let backend = try backend(cache: KernelBinaryCache(directory: nil))
        for constant in backend.constants.all {
            for file in EmbeddedKernels.sources.keys {
                #expect(backend.programs.buildOptions(for: file).contains("-D \(constant.name)=\(constant.value)"))
                let source = try #require(EmbeddedKernels.sources[file])
                #expect(!source.contains("#define \(constant.name)"), "Kernels/\(file).cl defines \(constant.name)")
            }
            let guardLine = "#error \"\(constant.name) comes from the host"
            #expect(EmbeddedKernels.sources.values.contains { $0.contains(guardLine) })
        }
        // The GEMM tunables likewise: GemmTuning's values reach gemm.cl as -D, and gemm.cl has
        // no defaults of its own that could drift from them.
        let gemm = try #require(EmbeddedKernels.sources["gemm"])
        for name in ["TSM", "TSN", "TSK", "WPTM", "WPTN", "GVW", "DB", "LPAD", "VW", "NV", "RM"] {
            #expect(backend.programs.buildOptions(for: "gemm").contains("-D\(name)="), "no -D\(name)")
            #expect(!gemm.contains("#define \(name) "), "Kernels/gemm.cl defines \(name)")
            #expect(gemm.contains("#error \"\(name) comes from the host"), "Kernels/gemm.cl: no guard for \(name)")
        }
    }

    @Test("device specifiers parse, and unknown devices list the available ones")
    func deviceSelection() throws {
        #expect(try DeviceSpecifier(parsing: "auto") == .automatic)
        #expect(try DeviceSpecifier(parsing: "CPU") == .cpu)
        #expect(try DeviceSpecifier(parsing: "opencl") == .anyOpenCL)
        #expect(try DeviceSpecifier(parsing: "opencl:0:1") == .openCL(platform: 0, device: 1))
        for bad in ["gpu", "opencl:0", "opencl:x:0", "opencl:-1:0", ""] {
            do {
                _ = try DeviceSpecifier(parsing: bad)
                Issue.record("'\(bad)' parsed")
            } catch let ComputeError.unknownDevice(_, available) {
                #expect(available.contains("cpu") && available.contains { $0.hasPrefix("opencl:0:0") })
            }
        }
        do {
            _ = try Device.open(.openCL(platform: 0, device: 99))
            Issue.record("a missing device opened")
        } catch let error as ComputeError {
            #expect(error.description.contains("opencl:0:99") && error.description.contains("cpu"))
        }
        // PoCL is a CPU-type device, so `auto` keeps the CPU path and says why.
        let (device, note) = try Device.open(.automatic)
        if try OpenCLDiscovery.devices().allSatisfy({ !$0.isAccelerator }) {
            #expect(device.kind == .cpu)
            #expect(note.contains("no OpenCL GPU"))
        }
    }

    @Test(
        "an allocation beyond what a buffer can hold is a clear error naming the device and the size, on both devices")
    func allocationFailure() throws {
        for device in [Device.cpu(), try Device.open(.anyOpenCL).device] {
            let count = Int(Int32.max) + 1
            #expect { _ = try device.makeBuffer(count: count) } throws: { error in
                let text = "\(error)"
                return text.contains("could not allocate \(4 * count) bytes on \(device.name)")
                    && text.contains("smaller model")
            }
        }
        // Beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE (when that is below the 32-bit element limit).
        let (device, _) = try Device.open(.anyOpenCL)
        let description = try #require(try OpenCLDiscovery.devices().first)
        if description.maxAllocationBytes / 4 < Int(Int32.max) {
            #expect { _ = try device.makeBuffer(count: description.maxAllocationBytes / 4 + 1) } throws: {
                "\($0)".contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE")
            }
        }
    }
}
