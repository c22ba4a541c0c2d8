import Foundation
internal import COpenCL

/// One OpenCL device: its context and in-order queue, and the operations of the kernel families
/// (`OpenCLBackend+X.swift`). `programs` builds the programs of `Kernels/` (cached on disk across
/// processes) and holds their kernels, `allocator` the device memory; the operations launch
/// kernels through the generated typed launchers (`enqueue`, see OpenCLKernelLaunch.swift).
final class OpenCLBackend: ComputeBackend {
    let device: OpenCLDeviceDescription
    let deviceID: cl_device_id
    let context: cl_context
    let queue: cl_command_queue
    let gemmVariant: GemmVariant
    let tuning: GemmTuning
    /// The kernel constants and work-group sizes of this device.
    let constants: KernelConstants
    var groups: WorkGroups { constants.groups }
    let programs: OpenCLProgramCache
    let allocator: OpenCLAllocator
    /// Fused attention's kernels (`OpenCLAttentionKernels.resolved`; the tests set both), and why.
    var attentionKernels: OpenCLAttentionKernels
    let attentionKernelsReason: String
    /// Why the single-launch attention kernels cannot run on this device ("" when they can;
    /// nil until first asked).
    var attentionDeviceProblem: String?
    /// Kernel launches since the last clFinish (see `countLaunch`).
    private var launchesSinceFinish = 0
    /// Kernel launches since the backend was made (what the tests count).
    private(set) var launches = 0

    static func name(of device: OpenCLDeviceDescription) -> String {
        "\(device.name) (\(device.platformName), \(device.specifier))"
    }

    var name: String { Self.name(of: device) }
    var kind: DeviceKind { .openCL(type: device.type) }
    var memoryBytes: Int { device.globalMemoryBytes }

    /// `gemmTuning` (tunable name to value) replaces the device's defaults, its stored
    /// tuning and the environment's override, and `workGroups` the work-group sizes likewise:
    /// `bimt tune` tries candidates this way. `tuningStore` is where stored tuning is read
    /// (nil: the environment's place).
    init(
        handle: OpenCLDiscovery.Handle, gemmVariant: GemmVariant,
        cache: KernelBinaryCache = .fromEnvironment, gemmTuning: [String: Int]? = nil,
        workGroups: WorkGroups? = nil, tuningStore: GemmTuningStore? = nil
    ) throws {
        device = handle.description
        deviceID = handle.device
        self.gemmVariant = try gemmVariant.resolved(
            deviceType: device.type, environment: ProcessInfo.processInfo.environment)
        let store = tuningStore ?? GemmTuningStore.fromEnvironment
        if let gemmTuning {
            tuning = GemmTuning(defaultsFor: device).applying(gemmTuning)
        } else {
            let stored = store.entry(for: device, variant: self.gemmVariant)
            for warning in store.warnings + [stored.problem].compactMap({ $0 }) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            tuning = GemmTuning(
                for: device, environment: ProcessInfo.processInfo.environment,
                stored: stored.entry?.values)
        }
        var storedGroups: WorkGroups?
        if workGroups == nil {
            let stored = store.groups(for: device, variant: self.gemmVariant)
            if let problem = stored.problem { FileHandle.standardError.write(Data("warning: \(problem)\n".utf8)) }
            storedGroups = stored.groups
        }
        if let problem = tuning.problem(for: self.gemmVariant, on: device) {
            throw ComputeError.invalidArgument(
                "GEMM settings \(tuning.values(for: self.gemmVariant)) cannot run on \(device.name): \(problem)")
        }
        (attentionKernels, attentionKernelsReason) = try OpenCLAttentionKernels.resolved(
            environment: ProcessInfo.processInfo.environment, deviceType: device.type)
        if let problem = workGroups?.problem(maxWorkGroupSize: device.maxWorkGroupSize) {
            throw ComputeError.invalidArgument("work-group sizes cannot run on \(device.name): \(problem)")
        }
        constants = KernelConstants(
            groups: try workGroups
                ?? WorkGroups.forDevice(
                    type: device.type, maxWorkGroupSize: device.maxWorkGroupSize,
                    environment: ProcessInfo.processInfo.environment, stored: storedGroups))
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
        programs = OpenCLProgramCache(
            device: device, deviceID: deviceID, context: context, cache: cache,
            gemmDefines: tuning.defines, constants: constants)
        allocator = OpenCLAllocator(device: device, name: Self.name(of: device), context: context, queue: queue)
    }

    deinit {
        clFinish(queue)
        allocator.releaseScratch()
        programs.releaseAll()
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    // MARK: Memory (OpenCLAllocator)

    func makeStorage(count: Int) throws -> BufferStorage { try allocator.makeStorage(count: count) }

    func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws {
        try allocator.write(values, to: slice)
    }

    func startRead(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws -> PendingRead {
        try allocator.startRead(slice, into: values)
    }

    func read(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws {
        try allocator.read(slice, into: values)
    }

    /// The first `count` elements of the scratch buffer for `purpose`, grown on demand.
    func scratchSlice(_ purpose: OpenCLAllocator.ScratchPurpose, count: Int) throws -> BufferSlice {
        try allocator.scratchSlice(purpose, count: count)
    }

    // MARK: The queue

    func synchronize() throws {
        try OpenCLStatus.check(clFinish(queue), "clFinish")
        launchesSinceFinish = 0
    }

    /// Counts an enqueued kernel (`launchUnchecked` calls it). PoCL frees finished commands only
    /// at clFinish (a blocking read is not enough): a long run that never synchronizes grew
    /// ~0.4 KiB per training step. Drain now and then.
    func countLaunch() throws {
        launches += 1
        launchesSinceFinish += 1
        if launchesSinceFinish >= 4096 { try synchronize() }
    }

    /// Local size for one-dimensional pointwise kernels.
    var pointwiseLocal: [Int] { [groups.pointwise] }
}
