import COpenBLAS
import Dispatch
import Foundation

/// The CPU path: GEMM through OpenBLAS's cblas (threaded over every core), pointwise
/// operations as plain loops over raw pointers that the optimizer vectorizes, split over
/// the cores when they are large enough to pay for it.
final class CPUBackend: ComputeBackend {
    let cores = processorCount
    var kind: DeviceKind { .cpu }
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

    func synchronize() throws {}

    func gemm(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        let pa = pointer(a), pb = pointer(b), pc = pointer(c)
        for batch in 0..<op.batchCount {
            cblas_sgemm(CblasRowMajor,
                        op.transposeA ? CblasTrans : CblasNoTrans,
                        op.transposeB ? CblasTrans : CblasNoTrans,
                        Int32(op.m), Int32(op.n), Int32(op.k), op.alpha,
                        pa + batch * op.strideA, Int32(op.lda),
                        pb + batch * op.strideB, Int32(op.ldb), op.beta,
                        pc + batch * op.strideC, Int32(op.ldc))
        }
    }

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

/// The cores the CPU path splits work over, read once: Foundation re-reads cgroup files on
/// every `activeProcessorCount` call, which cost ~40 file opens per training step.
let processorCount = ProcessInfo.processInfo.activeProcessorCount

/// Carries a value into a `@Sendable` closure where the caller guarantees safety.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
