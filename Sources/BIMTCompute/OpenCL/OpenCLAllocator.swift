internal import COpenCL

/// Device memory of one OpenCL backend: buffers (an allocation the device cannot hold is an
/// error naming its limits), blocking reads and writes on the backend's queue, and scratch
/// buffers kept per purpose.
final class OpenCLAllocator {
    let device: OpenCLDeviceDescription
    /// The backend's name, for allocation errors.
    let name: String
    /// The backend's context and queue; the backend releases them after `releaseScratch()`.
    let context: cl_context
    let queue: cl_command_queue

    /// Device scratch buffers, one per purpose, grown on demand and reused across calls.
    enum ScratchPurpose: Hashable {
        case packedA // gemm_vector's panels of A
        case packedB // gemm_vector's panels of B
        case splitK // gemm_tiled's partial products, one per K range
        case bf16A // A rounded to bf16 words (two per float)
        case bf16B // B rounded to bf16 words
        case staging // copies (overlapping copy, permutation source)
        case partialSums // per-row or per-group partial costs
        case permutation // float-encoded permutation indices
        case columnPartials // per-chunk column sums (bias and LayerNorm gradients)
        case attentionScores // a block of attention scores or probabilities [sequences, block, length]
        case attentionScoreGradients // their gradients
        case attentionKeys // one head's keys as [sequences, hd, length]
        case attentionValues // one head's values as [sequences, hd, length]
    }
    private var scratch: [ScratchPurpose: Buffer] = [:]

    init(device: OpenCLDeviceDescription, name: String, context: cl_context, queue: cl_command_queue) {
        self.device = device
        self.name = name
        self.context = context
        self.queue = queue
    }

    /// Drops the scratch buffers (the backend calls it before releasing its context).
    func releaseScratch() { scratch = [:] }

    func makeStorage(count: Int) throws -> BufferStorage {
        var status: cl_int = 0
        let bytes = count * MemoryLayout<Float>.size
        guard bytes <= device.maxAllocationBytes else {
            throw ComputeError.allocationFailed(
                device: name, bytes: bytes,
                reason: "the device allows at most \(device.maxAllocationBytes / (1 << 20)) MiB per buffer "
                    + "(CL_DEVICE_MAX_MEM_ALLOC_SIZE) of its \(device.globalMemoryBytes / (1 << 20)) MiB; "
                    + "use a smaller model or batch, or the CPU path")
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
            clEnqueueWriteBuffer(
                queue, memory(slice), cl_bool(CL_TRUE), slice.offset * 4, slice.count * 4,
                base, 0, nil, nil),
            "clEnqueueWriteBuffer")
    }

    func read(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = values.baseAddress, slice.count > 0 else { return }
        try OpenCLStatus.check(
            clEnqueueReadBuffer(
                queue, memory(slice), cl_bool(CL_TRUE), slice.offset * 4, slice.count * 4,
                base, 0, nil, nil),
            "clEnqueueReadBuffer")
    }

    /// A non-blocking read: enqueued with an event and flushed to the device, so it runs as
    /// soon as the work before it is done; the result tells when the values have arrived.
    func startRead(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws -> PendingRead {
        guard let base = values.baseAddress, slice.count > 0 else { return .finished }
        var event: cl_event?
        try OpenCLStatus.check(
            clEnqueueReadBuffer(
                queue, memory(slice), cl_bool(CL_FALSE), slice.offset * 4, slice.count * 4, base, 0, nil, &event),
            "clEnqueueReadBuffer")
        guard let event else {
            throw ComputeError.openCL(call: "clEnqueueReadBuffer (no event)", code: CL_INVALID_EVENT)
        }
        try OpenCLStatus.check(clFlush(queue), "clFlush")
        let shared = UncheckedSendable(event)
        return PendingRead(
            done: false,
            poll: {
                var status: cl_int = 0
                try OpenCLStatus.check(
                    clGetEventInfo(
                        shared.value, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size,
                        &status, nil),
                    "clGetEventInfo")
                if status < 0 { throw ComputeError.openCL(call: "clEnqueueReadBuffer (its event)", code: status) }
                return status == CL_COMPLETE
            },
            block: {
                var waited: cl_event? = shared.value
                try OpenCLStatus.check(clWaitForEvents(1, &waited), "clWaitForEvents")
            },
            release: { clReleaseEvent(shared.value) })
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
}
