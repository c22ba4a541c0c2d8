internal import COpenCL

/// A kernel argument. A buffer slice passes two arguments, the `cl_mem` and the element
/// offset, matching the `(buffer, offset)` pairs of every kernel signature.
enum KernelArgument {
    case slice(BufferSlice)
    case int(Int)
    case uint(UInt32)
    case float(Float)
}

/// Argument marshalling and the enqueue behind the generated launchers (`OpenCLKernels`, made
/// from the `__kernel` signatures of `Kernels/` by Sources/KernelEmbedder into the build's
/// EmbeddedKernels.swift): operations call `enqueue.kernelName(label: ..., global:, local:)`.
extension OpenCLBackend {
    /// Sets `arguments` in order and enqueues `name` over `global` work-items (rounded up
    /// to a multiple of `local`, which the kernels guard against). Nothing checks `arguments`
    /// against the kernel's signature: only the generated launchers call it, and only they
    /// can make the `GeneratedLauncher` it takes.
    func launchUnchecked(
        _: GeneratedLauncher, _ file: String, _ name: String, _ arguments: [KernelArgument],
        global: [Int], local: [Int]
    ) throws {
        let kernel = try programs.kernel(file, name)
        var index: cl_uint = 0
        func set<T: BitwiseCopyable>(_ value: T) throws {
            let status = withUnsafeBytes(of: value) { clSetKernelArg(kernel, index, $0.count, $0.baseAddress) }
            try OpenCLStatus.check(status, "clSetKernelArg(\(name), \(index))")
            index += 1
        }
        for argument in arguments {
            switch argument {
            case let .slice(slice):
                try set(allocator.memory(slice))
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
        try countLaunch()
    }
}
