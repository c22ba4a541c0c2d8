import Foundation
internal import COpenCL

/// The programs of `Kernels/` on one device: each kernel file's source (with common.cl) built
/// once per process with the build options every program gets, through the on-disk binary
/// cache, and the kernel objects by name. A build that fails throws
/// `ComputeError.kernelBuildFailed` with the compiler's log.
final class OpenCLProgramCache {
    let device: OpenCLDeviceDescription
    let deviceID: cl_device_id
    /// The backend's context; the backend releases it after `releaseAll()`.
    let context: cl_context
    let cache: KernelBinaryCache
    /// The shared kernel constants' `-D` options, given to every program.
    let constants: KernelConstants
    /// The GEMM tunables' `-D` options (`GemmTuning.defines`), given to gemm.cl only.
    let gemmDefines: String
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]

    init(
        device: OpenCLDeviceDescription, deviceID: cl_device_id, context: cl_context, cache: KernelBinaryCache,
        gemmDefines: String, constants: KernelConstants
    ) {
        self.constants = constants
        self.device = device
        self.deviceID = deviceID
        self.context = context
        self.cache = cache
        self.gemmDefines = gemmDefines
    }

    /// Releases every kernel and program (the backend calls it before releasing its context).
    func releaseAll() {
        kernels.values.forEach { clReleaseKernel($0) }
        programs.values.forEach { clReleaseProgram($0) }
        kernels = [:]
        programs = [:]
    }

    /// Build options for a kernel file: the language level, the shared kernel constants
    /// (`KernelConstants`), the GEMM tunables, and `BIMT_OPENCL_OPTIONS` from the environment.
    func buildOptions(for file: String) -> String {
        var options = "-cl-std=CL1.2 -cl-mad-enable " + constants.defines
        if file == "gemm" { options += " " + gemmDefines }
        if let extra = ProcessInfo.processInfo.environment["BIMT_OPENCL_OPTIONS"] { options += " " + extra }
        return options
    }

    /// The source built for Kernels/FILE.cl: Kernels/common.cl's helpers, then the file
    /// (`#line` keeps build-log line numbers the file's own).
    static func programSource(_ file: String) -> String {
        guard let source = EmbeddedKernels.sources[file], let common = EmbeddedKernels.sources["common"] else {
            preconditionFailure("no kernel file Kernels/\(file).cl or Kernels/common.cl")
        }
        return common + "\n#line 1\n" + source
    }

    func program(_ file: String) throws -> cl_program {
        if let program = programs[file] { return program }
        let program = try buildProgram(file, source: Self.programSource(file))
        programs[file] = program
        return program
    }

    /// Kernel `name` of Kernels/FILE.cl, created once.
    func kernel(_ file: String, _ name: String) throws -> cl_kernel {
        // Kernel names are unique across Kernels/ (the embedder fails the build otherwise), so the
        // name alone is the key: no string is built per launch.
        if let kernel = kernels[name] { return kernel }
        var status: cl_int = 0
        guard let kernel = clCreateKernel(try program(file), name, &status), status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateKernel(\(name))", code: status)
        }
        kernels[name] = kernel
        return kernel
    }

    /// What the device says of kernel `name` of Kernels/FILE.cl as built here: the most
    /// work-items one of its work-groups may hold (CL_KERNEL_WORK_GROUP_SIZE, which registers
    /// and local memory can make smaller than the device's limit) and the multiple of
    /// work-items it runs best at (CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE: the warp,
    /// wavefront or SIMD width).
    func workGroupInfo(_ file: String, _ name: String) throws -> (largest: Int, preferredMultiple: Int) {
        let kernel = try kernel(file, name)
        func query(_ parameter: Int32, _ label: String) throws -> Int {
            var value = 0
            try OpenCLStatus.check(
                clGetKernelWorkGroupInfo(
                    kernel, deviceID, cl_kernel_work_group_info(parameter), MemoryLayout<Int>.size, &value, nil),
                "clGetKernelWorkGroupInfo(\(name), \(label))")
            return value
        }
        return (
            try query(CL_KERNEL_WORK_GROUP_SIZE, "CL_KERNEL_WORK_GROUP_SIZE"),
            try query(CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE, "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE")
        )
    }

    /// The cache key of a program: device, versions, build options and the source itself.
    func cacheKey(source: String, options: String) -> String {
        [
            device.name, device.vendor, device.deviceVersion, device.driverVersion,
            device.platformVersion, options, source,
        ].joined(separator: "\u{1F}")
    }

    /// Builds `source` (named `file` in errors), through the binary cache.
    func buildProgram(_ file: String, source: String) throws -> cl_program {
        let options = buildOptions(for: file)
        let key = cacheKey(source: source, options: options)
        if let binary = cache.load(key: key) {
            if let program = try? buildFromBinary(binary, options: options) { return program }
            cache.remove(key: key) // stale or corrupt: rebuild from source below
        }
        let program = try buildFromSource(file, source: source, options: options)
        if let binary = try? binary(of: program) { cache.store(key: key, binary: binary) }
        return program
    }

    private func buildFromSource(_ file: String, source: String, options: String) throws -> cl_program {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context, 1, &pointer, &length, &status)
        }
        guard let program, status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateProgramWithSource(\(file).cl)", code: status)
        }
        var id: cl_device_id? = deviceID
        let buildStatus = clBuildProgram(program, 1, &id, options, nil, nil)
        guard buildStatus == CL_SUCCESS else {
            let log = buildLog(program)
            clReleaseProgram(program)
            if buildStatus == CL_BUILD_PROGRAM_FAILURE || !log.isEmpty {
                throw ComputeError.kernelBuildFailed(program: file, device: device.name, log: log)
            }
            throw ComputeError.openCL(call: "clBuildProgram(\(file).cl)", code: buildStatus)
        }
        return program
    }

    private func buildFromBinary(_ binary: [UInt8], options: String) throws -> cl_program {
        var status: cl_int = 0, binaryStatus: cl_int = 0
        var id: cl_device_id? = deviceID
        var length = binary.count
        let program: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context, 1, &id, &length, &pointer, &binaryStatus, &status)
        }
        guard let program, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateProgramWithBinary", code: status != 0 ? status : binaryStatus)
        }
        let buildStatus = clBuildProgram(program, 1, &id, options, nil, nil)
        guard buildStatus == CL_SUCCESS else {
            clReleaseProgram(program)
            throw ComputeError.openCL(call: "clBuildProgram(binary)", code: buildStatus)
        }
        return program
    }

    private func binary(of program: cl_program) throws -> [UInt8] {
        var size = 0
        try OpenCLStatus.check(
            clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            try OpenCLStatus.check(
                clGetProgramInfo(
                    program, cl_program_info(CL_PROGRAM_BINARIES),
                    MemoryLayout<UnsafeMutablePointer<UInt8>>.size, &pointer, nil),
                "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        }
        return binary
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        let info = cl_program_build_info(CL_PROGRAM_BUILD_LOG)
        guard clGetProgramBuildInfo(program, deviceID, info, 0, nil, &size) == CL_SUCCESS, size > 1 else { return "" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetProgramBuildInfo(program, deviceID, info, size, &bytes, nil) == CL_SUCCESS else { return "" }
        return bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
