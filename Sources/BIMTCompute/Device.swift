import Dispatch

/// A compute device: the CPU path or one OpenCL device. It allocates float32 buffers,
/// copies data in and out, and runs typed operations on buffer slices. Operations are
/// queued in order; `read` and `synchronize` wait for everything queued before them.
///
/// Every argument is validated here, once, so both backends see only well-formed calls:
/// a bad size or a slice too small is a thrown `ComputeError`, never a crash.
public final class Device {
    let backend: any ComputeBackend

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

    // MARK: Operations

    /// `C = alpha * op(A) * op(B) + beta * C`, possibly strided-batched; see `GemmOperation`.
    public func gemm(_ operation: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        try own(a, "GEMM A"); try own(b, "GEMM B"); try own(c, "GEMM C")
        try operation.validate(a: a, b: b, c: c)
        try backend.gemm(operation, a: a, b: b, c: c)
    }

    /// x = value
    public func fill(_ x: BufferSlice, value: Float) throws {
        try own(x, "fill")
        try backend.fill(x, value: value)
    }

    /// y = x
    public func copy(_ x: BufferSlice, to y: BufferSlice) throws {
        try own(x, "copy source"); try own(y, "copy destination")
        try same(x.count, y.count, "copy of \(x.count) elements into \(y.count)")
        try backend.copy(x, to: y)
    }

    /// x = alpha * x
    public func scale(_ x: BufferSlice, by alpha: Float) throws {
        try own(x, "scale")
        try backend.scale(x, by: alpha)
    }

    /// y = alpha * x + y
    public func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws {
        try own(x, "axpy x"); try own(y, "axpy y")
        try same(x.count, y.count, "axpy x has \(x.count) elements, y has \(y.count)")
        try backend.axpy(alpha: alpha, x: x, y: y)
    }

    /// x[r, c] += bias[c] for a row-major [rows, columns] matrix x.
    public func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws {
        try own(bias, "bias"); try own(x, "bias target")
        try matrix(x, rows: rows, columns: columns, "bias target")
        try same(bias.count, columns, "bias has \(bias.count) elements for a [\(rows), \(columns)] matrix")
        try backend.addBias(bias, to: x, rows: rows, columns: columns)
    }

    /// out[c] = sum over rows of x[r, c] (added to out when `accumulate`): the bias gradient.
    public func sumColumns(_ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice,
                           accumulate: Bool = false) throws {
        try own(x, "column-sum input"); try own(out, "column-sum output")
        try matrix(x, rows: rows, columns: columns, "column-sum input")
        try same(out.count, columns, "column-sum output has \(out.count) elements for a [\(rows), \(columns)] matrix")
        try backend.sumColumns(x, rows: rows, columns: columns, into: out, accumulate: accumulate)
    }

    /// output = f(input)
    public func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws {
        try own(input, "\(activation) input"); try own(output, "\(activation) output")
        try same(input.count, output.count, "\(activation) input has \(input.count) elements, output \(output.count)")
        try backend.activationForward(activation, input: input, output: output)
    }

    /// inputGradient += outputGradient * f'(input)
    public func activationBackward(_ activation: Activation, input: BufferSlice,
                                   outputGradient: BufferSlice, inputGradient: BufferSlice) throws {
        try own(input, "\(activation) input"); try own(outputGradient, "\(activation) output gradient")
        try own(inputGradient, "\(activation) input gradient")
        try same(input.count, outputGradient.count,
                 "\(activation) input has \(input.count) elements, output gradient \(outputGradient.count)")
        try same(input.count, inputGradient.count,
                 "\(activation) input has \(input.count) elements, input gradient \(inputGradient.count)")
        try backend.activationBackward(activation, input: input, outputGradient: outputGradient,
                                       inputGradient: inputGradient)
    }

    /// output[r, :] = softmax(x[r, :]) for a row-major [rows, columns] matrix; x may be output.
    public func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws {
        try own(x, "softmax input"); try own(output, "softmax output")
        try matrix(x, rows: rows, columns: columns, "softmax input")
        try matrix(output, rows: rows, columns: columns, "softmax output")
        try backend.softmaxRows(x, output: output, rows: rows, columns: columns)
    }

    /// One AdamW step (t = `step`, counted from 1) over a flat parameter slice. With
    /// `clipping`, the gradient is first scaled down to its maximum norm (the squared norm read
    /// on the device); with `decayMask` (one float per parameter, 1 or 0), weight decay applies
    /// where the mask is 1 only.
    public func adamW(_ hyperparameters: AdamWHyperparameters, step: Int, parameters: BufferSlice,
                      gradients: BufferSlice, firstMoments: BufferSlice, secondMoments: BufferSlice,
                      clipping: GradientClipping? = nil, decayMask: BufferSlice? = nil) throws {
        guard step >= 1 else { throw ComputeError.invalidArgument("AdamW step counts from 1, got \(step)") }
        var slices = [(parameters, "parameters"), (gradients, "gradients"), (firstMoments, "first moments"), (secondMoments, "second moments")]
        if let decayMask { slices.append((decayMask, "weight decay mask")) }
        for (slice, label) in slices {
            try own(slice, "AdamW \(label)")
            try same(slice.count, parameters.count,
                     "AdamW \(label) have \(slice.count) elements, parameters \(parameters.count)")
        }
        if let clipping {
            try own(clipping.normSquared, "AdamW squared gradient norm")
            try same(clipping.normSquared.count, 1, "the squared gradient norm is one element, got \(clipping.normSquared.count)")
            guard clipping.maximumNorm > 0, clipping.maximumNorm.isFinite else {
                throw ComputeError.invalidArgument("the maximum gradient norm must be > 0, got \(clipping.maximumNorm)")
            }
        }
        try backend.adamW(hyperparameters, step: step, parameters: parameters, gradients: gradients,
                          firstMoments: firstMoments, secondMoments: secondMoments, clipping: clipping, decayMask: decayMask)
    }

    /// Inverted dropout: y = x / (1 - rate) where a mask keeps the element, else 0. The mask
    /// of element i is a function of (`key`, i) alone (counter-based, the same on every
    /// device), so calling this again with the same key on the output gradient is the
    /// backward pass. `x` and `y` may be the same slice.
    public func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws {
        try own(x, "dropout input"); try own(y, "dropout output")
        try same(x.count, y.count, "dropout input has \(x.count) elements, output \(y.count)")
        guard rate >= 0, rate < 1 else { throw ComputeError.invalidArgument("the dropout rate must lie in [0, 1), got \(rate)") }
        try backend.dropout(x, into: y, rate: rate, key: key)
    }

    /// out[0] = the sum of x's squares (its squared L2 norm), on the device.
    public func squaredNorm(_ x: BufferSlice, into out: BufferSlice) throws {
        try own(x, "squared norm input"); try own(out, "squared norm output")
        try same(out.count, 1, "the squared norm is one element, got \(out.count)")
        try backend.squaredNorm(x, into: out)
    }

    // MARK: Validation

    private func own(_ slice: BufferSlice, _ role: String) throws {
        guard slice.buffer.owner == ObjectIdentifier(backend) else {
            throw ComputeError.foreignBuffer("the \(role) buffer was not allocated by \(name)")
        }
    }

    private func same(_ a: Int, _ b: Int, _ text: @autoclosure () -> String) throws {
        guard a == b else { throw ComputeError.shapeMismatch(text()) }
    }

    private func matrix(_ slice: BufferSlice, rows: Int, columns: Int, _ role: String) throws {
        guard rows >= 1, columns >= 1 else {
            throw ComputeError.invalidArgument("\(role): rows and columns must be >= 1, got [\(rows), \(columns)]")
        }
        try same(slice.count, rows * columns, "\(role) is [\(rows), \(columns)] but the slice holds \(slice.count) elements")
    }
}
