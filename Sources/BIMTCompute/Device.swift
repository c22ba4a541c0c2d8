import Dispatch

/// A compute device: the CPU path or one OpenCL device. It allocates float32 buffers,
/// copies data in and out, and runs typed operations on buffer slices. Operations are
/// queued in order; `read` and `synchronize` wait for everything queued before them.
///
/// Every argument is validated here, once, so both backends see only well-formed calls:
/// a bad size or a slice too small is a thrown `ComputeError`, never a crash.
public final class Device {
    let backend: any ComputeBackend
    /// The precision of matrix products (Device+Precision.swift).
    var activePrecision = MatrixPrecision.fp32

    init(backend: any ComputeBackend) {
        self.backend = backend
    }

    /// The CPU path: OpenBLAS GEMM and vectorized, multi-threaded pointwise operations.
    public static func cpu() -> Device {
        Device(backend: CPUBackend())
    }

    /// A human-readable name, e.g. `cpu (2 cores, OpenBLAS)` or the OpenCL device name.
    public var name: String { backend.name }
    /// CPU or OpenCL.
    public var kind: DeviceKind { backend.kind }
    /// Bytes of memory the device has: global memory for OpenCL, physical RAM for the CPU path.
    public var memoryBytes: Int { backend.memoryBytes }

    // MARK: Buffers

    /// A new buffer of `count` float32 elements (contents undefined until written).
    public func makeBuffer(count: Int) throws -> Buffer {
        guard count >= 1 else {
            throw ComputeError.invalidArgument("a buffer needs at least 1 element, got \(count)")
        }
        guard count <= Int(Int32.max) else {
            throw ComputeError.allocationFailed(
                device: name, bytes: count.multipliedReportingOverflow(by: 4).partialValue,
                reason: "one buffer holds at most \(Int32.max) floats (kernels index with 32-bit offsets), "
                    + "and this one needs \(count); use a smaller model or batch")
        }
        return Buffer(count: count, storage: try backend.makeStorage(count: count), owner: ObjectIdentifier(backend))
    }

    /// A new buffer holding `values`.
    public func makeBuffer(_ values: [Float]) throws -> Buffer {
        let buffer = try makeBuffer(count: values.count)
        try write(values, to: buffer.whole)
        return buffer
    }

    /// Copies `values` into `slice` (their counts must agree).
    public func write(_ values: [Float], to slice: BufferSlice) throws {
        try own(slice, "write destination")
        try same(values.count, slice.count, "write of \(values.count) values into a slice of \(slice.count)")
        try values.withUnsafeBufferPointer { try backend.write($0, to: slice) }
    }

    /// The elements of `slice`, after every operation queued before this call.
    public func read(_ slice: BufferSlice) throws -> [Float] {
        try own(slice, "read source")
        return try [Float](unsafeUninitializedCapacity: slice.count) { values, initialized in
            try backend.read(slice, into: values)
            initialized = slice.count
        }
    }

    /// Copies `slice` into `values` (their counts must agree), after every operation queued before.
    public func read(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws {
        try own(slice, "read source")
        try same(values.count, slice.count, "read of a slice of \(slice.count) into \(values.count) values")
        try backend.read(slice, into: values)
    }

    /// Copies `values` into `slice` (their counts must agree).
    public func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws {
        try own(slice, "write destination")
        try same(values.count, slice.count, "write of \(values.count) values into a slice of \(slice.count)")
        try backend.write(values, to: slice)
    }

    /// Starts copying `slice` into `values` (their counts must agree) after every operation
    /// queued before, without waiting for it: on an OpenCL device the host goes on queueing
    /// work while the device finishes what the copy waits for. `values` must stay valid, and
    /// untouched, until the read has completed (`PendingRead.isComplete` or `wait()`). On the
    /// CPU path the copy is done when this returns.
    public func startRead(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws -> PendingRead {
        try own(slice, "read source")
        try same(values.count, slice.count, "read of a slice of \(slice.count) into \(values.count) values")
        return try backend.startRead(slice, into: values)
    }

    /// The host memory a slice lives in on the CPU path, where another thread (a collective
    /// summing gradients over processes) may work on it in place; nil on an OpenCL device.
    public func hostMemory(_ slice: BufferSlice) throws -> UnsafeMutableBufferPointer<Float>? {
        try own(slice, "host memory")
        guard case let .host(base) = slice.buffer.storage else { return nil }
        return UnsafeMutableBufferPointer(start: base + slice.offset, count: slice.count)
    }

    /// Waits until every queued operation has finished.
    public func synchronize() throws { try backend.synchronize() }

    /// Seconds `body` takes on this device: from an empty queue to the end of everything it
    /// queued (what every benchmark times).
    public func seconds(_ body: () throws -> Void) throws -> Double {
        try synchronize()
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        try synchronize()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    // MARK: Validation

    func own(_ slice: BufferSlice, _ role: String) throws {
        guard slice.buffer.owner == ObjectIdentifier(backend) else {
            throw ComputeError.foreignBuffer("the \(role) buffer was not allocated by \(name)")
        }
    }

    func same(_ a: Int, _ b: Int, _ text: @autoclosure () -> String) throws {
        guard a == b else { throw ComputeError.shapeMismatch(text()) }
    }

    func matrix(_ slice: BufferSlice, rows: Int, columns: Int, _ role: String) throws {
        guard rows >= 1, columns >= 1 else {
            throw ComputeError.invalidArgument("\(role): rows and columns must be >= 1, got [\(rows), \(columns)]")
        }
        try same(
            slice.count, rows * columns,
            "\(role) is [\(rows), \(columns)] but the slice holds \(slice.count) elements")
    }

    // Each family's checks name its operands in their errors as they always have: BIMT
    // operands (connection cost, swap scores, permutations), training operands (losses,
    // embeddings, gathers), transformer operands (LayerNorm, softmax) and convolution operands
    // (convolution, pooling).

    func owned(_ slices: BufferSlice?...) throws {
        for slice in slices.compactMap({ $0 }) where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a BIMT operand was not allocated by \(name)")
        }
    }

    func positive(_ a: Int, _ b: Int, _ what: String) throws {
        guard a >= 1, b >= 1 else { throw ComputeError.invalidArgument("\(what) must be >= 1, got \(a), \(b)") }
    }

    func expect(_ condition: Bool, _ text: @autoclosure () -> String) throws {
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }

    func require(_ slices: BufferSlice...) throws {
        for slice in slices where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a training operand was not allocated by \(name)")
        }
    }

    func check(_ condition: Bool, _ text: @autoclosure () -> String) throws {
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }

    func transformerOperands(_ slices: BufferSlice...) throws {
        for slice in slices where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a transformer operand was not allocated by \(name)")
        }
    }

    func transformerShape(_ condition: Bool, _ text: @autoclosure () -> String) throws {
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }

    func conv(_ condition: Bool, _ text: @autoclosure () -> String, _ slices: BufferSlice...) throws {
        try conv(condition, text(), slices)
    }

    func conv(_ condition: Bool, _ text: @autoclosure () -> String, _ slices: [BufferSlice]) throws {
        for slice in slices where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a convolution operand was not allocated by \(name)")
        }
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }
}

/// A copy from a device to the host that may still be running (`Device.startRead`).
public final class PendingRead {
    private let poll: () throws -> Bool
    private let block: () throws -> Void
    private let release: () -> Void
    private var done: Bool

    /// A read the backend finished already.
    static var finished: PendingRead { PendingRead(done: true, poll: { true }, block: {}, release: {}) }

    init(
        done: Bool, poll: @escaping () throws -> Bool, block: @escaping () throws -> Void, release: @escaping () -> Void
    ) {
        self.done = done
        self.poll = poll
        self.block = block
        self.release = release
    }

    deinit { release() }

    /// Whether the values have arrived (never waits).
    public var isComplete: Bool {
        get throws {
            if !done { done = try poll() }
            return done
        }
    }

    /// Waits for the values.
    public func wait() throws {
        guard !done else { return }
        try block()
        done = true
    }
}
