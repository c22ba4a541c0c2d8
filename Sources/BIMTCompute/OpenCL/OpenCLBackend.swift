import Foundation
internal import COpenCL

/// One OpenCL device: its context, an in-order queue, and the programs of `Kernels/`,
/// each built once per process (and cached on disk across processes).
final class OpenCLBackend: ComputeBackend {
    let device: OpenCLDeviceDescription
    let deviceID: cl_device_id
    let context: cl_context
    let queue: cl_command_queue
    let gemmVariant: GemmVariant
    let tuning: GemmTuning
    let cache: KernelBinaryCache
    private var programs: [String: cl_program] = [:]
    private var kernels: [String: cl_kernel] = [:]
    /// Device scratch buffers, one per purpose, grown on demand and reused across calls.
    enum ScratchPurpose: Hashable {
        case packedA        // gemm_vector's panels of A
        case packedB        // gemm_vector's panels of B
        case splitK         // gemm_tiled's partial products, one per K range
        case staging        // copies (overlapping copy, permutation source)
        case partialSums    // per-row or per-group partial costs
        case permutation    // float-encoded permutation indices
        case columnPartials          // per-chunk column sums (bias and LayerNorm gradients)
        case attentionScores         // a block of attention scores or probabilities [sequences, block, length]
        case attentionScoreGradients // their gradients
        case attentionKeys           // one head's keys as [sequences, hd, length]
        case attentionValues         // one head's values as [sequences, hd, length]
    }
    private var scratch: [ScratchPurpose: Buffer] = [:]
    /// Kernel launches since the last clFinish (see `launch`).
    private var launchesSinceFinish = 0

    var name: String { "\(device.name) (\(device.platformName), \(device.specifier))" }
    var kind: DeviceKind { .openCL(type: device.type) }
    var memoryBytes: Int { device.globalMemoryBytes }

    /// `gemmTuning` (tunable name to value) replaces the device's defaults, its stored
    /// tuning and the environment's override: `bimt tune` tries candidates this way.
    /// `tuningStore` is where stored tuning is read (nil: the environment's place).
    init(handle: OpenCLDiscovery.Handle, gemmVariant: GemmVariant,
         cache: KernelBinaryCache = .fromEnvironment, gemmTuning: [String: Int]? = nil,
         tuningStore: GemmTuningStore? = nil) throws {
        device = handle.description
        self.cache = cache
        deviceID = handle.device
        self.gemmVariant = gemmVariant.resolved(deviceType: device.type)
        if let gemmTuning {
            tuning = GemmTuning(defaultsFor: device).applying(gemmTuning)
        } else {
            let store = tuningStore ?? GemmTuningStore.fromEnvironment
            let stored = store.entry(for: device, variant: self.gemmVariant)
            for warning in store.warnings + [stored.problem].compactMap({ $0 }) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            tuning = GemmTuning(for: device, environment: ProcessInfo.processInfo.environment, stored: stored.entry?.values)
        }
        if let problem = tuning.problem(for: self.gemmVariant, on: device) {
            throw ComputeError.invalidArgument("GEMM settings \(tuning.values(for: self.gemmVariant)) cannot run on \(device.name): \(problem)")
        }
        var status: cl_int = 0
        var id: cl_device_id? = handle.device
        guard let context = clCreateContext(nil, 1, &id, nil, nil, &status) else {
            throw ComputeError.openCL(call: "clCreateContext(\(device.name))", code: status)
        }
        self.context = context
        guard let queue = clCreateCommandQueue(context, handle.device, 0, &status) else {
            clReleaseContext(context)
            throw ComputeError.openCL(call: "clCreateCommandQueue(\(device.name))", code: status)
        }
        self.queue = queue
    }

    deinit {
        clFinish(queue)
        scratch = [:]
        kernels.values.forEach { clReleaseKernel($0) }
        programs.values.forEach { clReleaseProgram($0) }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: Memory

    func makeStorage(count: Int) throws -> BufferStorage {
        var status: cl_int = 0
        let bytes = count * MemoryLayout<Float>.size
        guard bytes <= device.maxAllocationBytes else {
            throw ComputeError.allocationFailed(
                device: name, bytes: bytes,
                reason: "the device allows at most \(device.maxAllocationBytes / (1 << 20)) MiB per buffer "
                    + "(CL_DEVICE_MAX_MEM_ALLOC_SIZE) of its \(device.globalMemoryBytes / (1 << 20)) MiB; use a smaller model or batch, or the CPU path")
        }
        guard let memory = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status),
              status == CL_SUCCESS
        else {
            throw ComputeError.allocationFailed(
                device: name, bytes: bytes,
                reason: "clCreateBuffer returned \(OpenCLStatus.name(status)); the device has "
                    + "\(device.globalMemoryBytes / (1 << 20)) MiB of global memory")
        }
        return .openCL(OpenCLMemory(handle: memory))
    }

    func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws {
        guard let base = values.baseAddress, slice.count > 0 else { return }
        try OpenCLStatus.check(
            clEnqueueWriteBuffer(queue, memory(slice), cl_bool(CL_TRUE), slice.offset * 4, slice.count * 4,
                                 base, 0, nil, nil),
            "clEnqueueWriteBuffer")
    }

    func read(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = values.baseAddress, slice.count > 0 else { return }
        try OpenCLStatus.check(
            clEnqueueReadBuffer(queue, memory(slice), cl_bool(CL_TRUE), slice.offset * 4, slice.count * 4,
                                base, 0, nil, nil),
            "clEnqueueReadBuffer")
    }

    func synchronize() throws {
        try OpenCLStatus.check(clFinish(queue), "clFinish")
        launchesSinceFinish = 0
    }

    func memory(_ slice: BufferSlice) -> cl_mem {
        guard case let .openCL(memory) = slice.buffer.storage else {
            preconditionFailure("OpenCL backend given a host buffer")
        }
        return memory.handle
    }

    /// The first `count` elements of the scratch buffer for `purpose`, grown on demand.
    func scratchSlice(_ purpose: ScratchPurpose, count: Int) throws -> BufferSlice {
        if let buffer = scratch[purpose], buffer.count >= count { return buffer.slice(offset: 0, count: count) }
        let size = max(count, (scratch[purpose]?.count ?? 0) * 2)
        let buffer = Buffer(count: size, storage: try makeStorage(count: size), owner: ObjectIdentifier(self))
        scratch[purpose] = buffer
        return buffer.slice(offset: 0, count: count)
    }

    // MARK: Programs and launches

    /// Build options for a kernel file: the language level, the shared kernel constants
    /// (`KernelConstants`), the GEMM tunables, and `BIMT_OPENCL_OPTIONS` from the environment.
    func buildOptions(for file: String) -> String {
        var options = "-cl-std=CL1.2 -cl-mad-enable " + KernelConstants.defines
        if file == "gemm" { options += " " + tuning.defines }
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

    /// The cache key of a program: device, versions, build options and the source itself.
    func cacheKey(source: String, options: String) -> String {
        [device.name, device.vendor, device.deviceVersion, device.driverVersion,
         device.platformVersion, options, source].joined(separator: "\u{1F}")
    }

    /// Builds `source` (named `file` in errors), through the binary cache.
    func buildProgram(_ file: String, source: String) throws -> cl_program {
        let options = buildOptions(for: file)
        let key = cacheKey(source: source, options: options)
        if let binary = cache.load(key: key) {
            if let program = try? buildFromBinary(binary, options: options) { return program }
            cache.remove(key: key)  // stale or corrupt: rebuild from source below
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
                clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
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

    func kernel(_ file: String, _ name: String) throws -> cl_kernel {
        let key = file + "/" + name
        if let kernel = kernels[key] { return kernel }
        var status: cl_int = 0
        guard let kernel = clCreateKernel(try program(file), name, &status), status == CL_SUCCESS else {
            throw ComputeError.openCL(call: "clCreateKernel(\(name))", code: status)
        }
        kernels[key] = kernel
        return kernel
    }

    /// A kernel argument. A buffer slice passes two arguments, the `cl_mem` and the
    /// element offset, matching the `(buffer, offset)` pairs of every kernel signature.
    enum Argument {
        case slice(BufferSlice)
        case int(Int)
        case uint(UInt32)
        case float(Float)
    }

    /// Sets `arguments` in order and enqueues `name` over `global` work-items (rounded up
    /// to a multiple of `local`, which the kernels guard against). Nothing checks `arguments`
    /// against the kernel's signature: only the generated launchers (`enqueue.kernelName(...)`,
    /// from the `__kernel` signatures) call it, and only they can make the `GeneratedLauncher`
    /// it takes.
    func launchUnchecked(_: GeneratedLauncher, _ file: String, _ name: String, _ arguments: [Argument],
                         global: [Int], local: [Int]) throws {
        let kernel = try kernel(file, name)
        var index: cl_uint = 0
        func set<T: BitwiseCopyable>(_ value: T) throws {
            let status = withUnsafeBytes(of: value) { clSetKernelArg(kernel, index, $0.count, $0.baseAddress) }
            try OpenCLStatus.check(status, "clSetKernelArg(\(name), \(index))")
            index += 1
        }
        for argument in arguments {
            switch argument {
            case let .slice(slice):
                try set(memory(slice))
                try set(cl_int(slice.offset))
            case let .int(value):
                guard let narrow = cl_int(exactly: value) else {
                    throw ComputeError.invalidArgument("\(name): \(value) does not fit a 32-bit kernel argument")
                }
                try set(narrow)
            case let .uint(value):
                try set(cl_uint(value))
            case let .float(value):
                try set(value)
            }
        }
        let rounded = zip(global, local).map { g, l in max(l, (g + l - 1) / l * l) }
        try OpenCLStatus.check(
            clEnqueueNDRangeKernel(queue, kernel, cl_uint(rounded.count), nil, rounded, local, 0, nil, nil),
            "clEnqueueNDRangeKernel(\(name), global \(rounded), local \(local))")
        // PoCL frees finished commands only at clFinish (a blocking read is not enough): a long
        // run that never synchronizes grew ~0.4 KiB per training step. Drain now and then.
        launchesSinceFinish += 1
        if launchesSinceFinish >= 4096 { try synchronize() }
    }

    /// Local size for one-dimensional pointwise kernels.
    var pointwiseLocal: [Int] { [min(64, device.maxWorkGroupSize)] }

    /// out[0] = (or += with `accumulate`) the sum of `x`, on the device: Kernels/reduce.cl's
    /// reduce_sum, the last step of the losses, the squared norm and the connection cost.
    func reduceSum(_ x: BufferSlice, accumulate: Bool, into out: BufferSlice) throws {
        let local = KernelConstants.reduceLocal.value
        try enqueue.reduceSum(n: x.count, accumulate: accumulate ? 1 : 0, x: x, out: out,
                              global: [local], local: [local])
    }

    /// Rows each work-item sums in the first pass of a column reduction (column sums,
    /// LayerNorm's parameter gradients), and the chunks of `rows` that makes.
    var reductionChunkRows: Int { 64 }
    func reductionChunks(_ rows: Int) -> Int { (rows + reductionChunkRows - 1) / reductionChunkRows }
}
