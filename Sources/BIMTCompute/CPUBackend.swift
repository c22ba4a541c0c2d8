import COpenBLAS
import Dispatch
import Foundation

/// The CPU path: GEMM through OpenBLAS's cblas (threaded over every core), pointwise
/// operations as plain loops over raw pointers that the optimizer vectorizes, split over
/// the cores when they are large enough to pay for it.
final class CPUBackend: ComputeBackend {
    var cores: Int { processorCount }

    /// The bf16 copies of a product's operands (CPUBackend+Gemm.swift), grown as needed.
    private var bf16Words: UnsafeMutablePointer<UInt16>?
    private var bf16Capacity = 0

    init() {
        openblas_set_num_threads(1)
    }

    deinit { bf16Words?.deallocate() }

    /// Scratch for at least `count` bf16 words (contents undefined), valid until the next call.
    func bf16Scratch(count: Int) -> UnsafeMutablePointer<UInt16> {
        if let words = bf16Words, bf16Capacity >= count { return words }
        bf16Words?.deallocate()
        bf16Capacity = count // exactly: the memory plan counts the largest product's operands
        let words = UnsafeMutablePointer<UInt16>.allocate(capacity: bf16Capacity)
        bf16Words = words
        return words
    }
    var kind: DeviceKind { .cpu }
    var memoryBytes: Int { Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE))) }
    var name: String { "cpu (\(cores) cores, OpenBLAS \(CPUBackend.blasCore))" }

    /// The OpenBLAS kernel family chosen at run time for this processor, e.g. "SkylakeX".
    static var blasCore: String {
        guard let name = openblas_get_corename() else { return "unknown core" }
        return String(cString: name)
    }

    func makeStorage(count: Int) throws -> BufferStorage {
        .host(UnsafeMutablePointer<Float>.allocate(capacity: count))
    }

    func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws {
        guard let base = values.baseAddress, slice.count > 0 else { return }
        pointer(slice).update(from: base, count: slice.count)
    }

    func read(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws {
        guard let base = values.baseAddress, slice.count > 0 else { return }
        base.update(from: pointer(slice), count: slice.count)
    }

    func startRead(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws -> PendingRead {
        try read(slice, into: values)
        return .finished
    }

    func synchronize() throws {}

    /// The host pointer of a slice's first element.
    func pointer(_ slice: BufferSlice) -> UnsafeMutablePointer<Float> {
        guard case let .host(base) = slice.buffer.storage else {
            preconditionFailure("CPU backend given a non-host buffer")
        }
        return base + slice.offset
    }
}

/// Runs `body` over `0 ..< count` in contiguous chunks, in parallel over the cores when
/// `count` is at least `grain` per core, else on the calling thread.
func parallelChunks(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    let chunks = min(processorCount, count / grain)
    guard chunks > 1 else {
        body(0..<count)
        return
    }
    let size = (count + chunks - 1) / chunks
    // The chunks are disjoint and concurrentPerform returns only when all are done, so the
    // non-Sendable body (it captures raw pointers) never runs concurrently with its owner.
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = chunk * size
            shared.value(start..<min(count, start + size))
        }
    }
}

/// Sums `body` over contiguous chunks of `0 ..< count`, in parallel like `parallelChunks`;
/// the chunk results are added in chunk order, so the total does not depend on timing.
func parallelSum(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Double) -> Double {
    parallelResults(count, grain: grain, body).reduce(0, +)
}

/// `body` over contiguous chunks of `0 ..< count` (in parallel when large enough), its
/// results in chunk order.
func parallelResults<T>(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> T) -> [T] {
    let chunks = max(1, min(processorCount, count / max(1, grain)))
    guard chunks > 1 else { return [body(0..<count)] }
    let size = (count + chunks - 1) / chunks
    var results = [T?](repeating: nil, count: chunks)
    results.withUnsafeMutableBufferPointer { slots in
        let shared = UncheckedSendable(slots)
        parallelChunks(chunks, grain: 1) { range in
            for chunk in range {
                let start = chunk * size
                shared.value[chunk] = body(start..<min(count, start + size))
            }
        }
    }
    return results.map { $0! }
}

/// Per-chunk partial sums over `parallelResults`' chunks of `0 ..< count`: `body` adds its
/// chunk's `width` sums into zeroed floats, and the chunks' sums are added into `out` in
/// chunk order (overwriting it, or adding with `accumulate`), so the result depends only on
/// the core count.
func bandedSums(
    _ count: Int, width: Int, grain: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool,
    _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void
) {
    let partials = parallelResults(count, grain: grain) { range -> [Float] in
        var partial = [Float](repeating: 0, count: width)
        partial.withUnsafeMutableBufferPointer { body(range, $0.baseAddress!) }
        return partial
    }
    for c in 0..<width {
        var total: Float = accumulate ? out[c] : 0
        for partial in partials { total += partial[c] }
        out[c] = total
    }
}

/// The cores the CPU path splits work over, read once: Foundation re-reads cgroup files on
/// every `activeProcessorCount` call, which cost ~40 file opens per training step.
/// `BIMT_CPU_THREADS` or `Device.limitCPUThreads` lowers it (several processes sharing a
/// node's cores).
nonisolated(unsafe) var processorCount: Int = {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    guard let text = ProcessInfo.processInfo.environment["BIMT_CPU_THREADS"], let threads = Int(text), threads >= 1
    else { return cores }
    return min(threads, cores)
}()

extension Device {
    /// The threads the CPU path splits work over: the machine's cores unless limited.
    public static var cpuThreads: Int { processorCount }

    /// Splits CPU-path work over at most `threads` threads (at least 1; never more than
    /// `BIMT_CPU_THREADS` or the cores). Call it once, before any device exists:
    /// data-parallel ranks sharing a node divide its cores this way.
    public static func limitCPUThreads(_ threads: Int) {
        processorCount = max(1, min(threads, processorCount))
    }
}

/// Carries a value into a `@Sendable` closure where the caller guarantees safety.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
