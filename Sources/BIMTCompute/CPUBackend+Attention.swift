import CBIMTKernels
import COpenBLAS
import Dispatch

// Fused causal attention on the CPU path: each (sequence, head) pair goes through its
// queries 64 rows at a time (`AttentionShape.queryBlock`). A block's scores against the keys
// it can see (0 ... its last row) are one single-threaded OpenBLAS product into a per-thread
// scratch of [block, length]; Sources/CBIMTKernels/attention.c turns them into
// probabilities (forward) or score gradients (backward). Pairs are split over the cores.
extension CPUBackend {
    func causalAttentionForward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, logSumExp: BufferSlice,
        dropoutRate: Float, dropoutKey: UInt64
    ) throws {
        let length = shape.length, hd = shape.headDimension, d = shape.width, ld = 3 * d
        let scale = 1 / Float(hd).squareRoot(), block = AttentionShape.queryBlock(openCL: false)
        let threshold = DropoutMask.threshold(dropoutRate), dropScale = DropoutMask.scale(dropoutRate)
        let shared = UncheckedSendable((pointer(qkv), pointer(output), pointer(logSumExp)))
        forEachAttentionPair(shape, scratchCount: block * length) { pair, scratch in
            let (qkv, out, lse) = shared.value
            let sequence = pair / shape.heads, head = pair % shape.heads
            let q = qkv + sequence * length * ld + head * hd, k = q + d, v = q + 2 * d
            let o = out + sequence * length * d + head * hd
            for first in stride(from: 0, to: length, by: block) {
                let rows = min(block, length - first), reach = first + rows
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(reach), Int32(hd), scale,
                    q + first * ld, Int32(ld), k, Int32(ld), 0, scratch, Int32(length))
                bimt_attention_softmax_block(
                    Int32(rows), Int32(first), Int32(length), scratch, lse + pair * length + first,
                    dropoutKey, threshold, dropScale, UInt64(pair * length * length), Int32(length))
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(hd), Int32(reach), 1,
                    scratch, Int32(length), v, Int32(ld), 0, o + first * d, Int32(d))
            }
        }
    }

    func causalAttentionBackward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, outputGradient: BufferSlice,
        logSumExp: BufferSlice, qkvGradient: BufferSlice, dropoutRate: Float, dropoutKey: UInt64
    ) throws {
        let length = shape.length, hd = shape.headDimension, d = shape.width, ld = 3 * d
        let scale = 1 / Float(hd).squareRoot(), block = AttentionShape.queryBlock(openCL: false)
        let threshold = DropoutMask.threshold(dropoutRate), dropScale = DropoutMask.scale(dropoutRate)
        let shared = UncheckedSendable(
            (
                pointer(qkv), pointer(output), pointer(outputGradient), pointer(logSumExp),
                pointer(qkvGradient)
            ))
        forEachAttentionPair(shape, scratchCount: 2 * block * length) { pair, scratch in
            let (qkv, out, dout, lse, dqkv) = shared.value
            let sequence = pair / shape.heads, head = pair % shape.heads
            let q = qkv + sequence * length * ld + head * hd, k = q + d, v = q + 2 * d
            let dq = dqkv + sequence * length * ld + head * hd, dk = dq + d, dv = dq + 2 * d
            let o = out + sequence * length * d + head * hd, g = dout + sequence * length * d + head * hd
            let s = scratch, dp = scratch + block * length
            // dK and dV gather from every later block: start them at zero.
            for row in 0..<length {
                (dk + row * ld).initialize(repeating: 0, count: hd)
                (dv + row * ld).initialize(repeating: 0, count: hd)
            }
            for first in stride(from: 0, to: length, by: block) {
                let rows = min(block, length - first), reach = first + rows
                // S = Q K^T / sqrt(hd);  dP = dY V^T, over the keys the block sees.
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(reach), Int32(hd), scale,
                    q + first * ld, Int32(ld), k, Int32(ld), 0, s, Int32(length))
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(reach), Int32(hd), 1,
                    g + first * d, Int32(d), v, Int32(ld), 0, dp, Int32(length))
                // s -> dropout(P), dp -> dS.
                bimt_attention_backward_block(
                    Int32(rows), Int32(first), Int32(length), s, dp, lse + pair * length + first,
                    o + first * d, g + first * d, Int32(d), Int32(hd), dropoutKey, threshold,
                    dropScale, UInt64(pair * length * length), Int32(length))
                // dV += dropout(P)^T dY;  dQ = dS K / sqrt(hd);  dK += dS^T Q / sqrt(hd).
                cblas_sgemm(
                    CblasRowMajor, CblasTrans, CblasNoTrans, Int32(reach), Int32(hd), Int32(rows), 1,
                    s, Int32(length), g + first * d, Int32(d), 1, dv, Int32(ld))
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(hd), Int32(reach), scale,
                    dp, Int32(length), k, Int32(ld), 0, dq + first * ld, Int32(ld))
                cblas_sgemm(
                    CblasRowMajor, CblasTrans, CblasNoTrans, Int32(reach), Int32(hd), Int32(rows), scale,
                    dp, Int32(length), q + first * ld, Int32(ld), 1, dk, Int32(ld))
            }
        }
    }

    /// Runs `body(pair, scratch)` for every (sequence, head) pair, pairs split over the cores,
    /// each thread with its own scratch of `scratchCount` floats.
    private func forEachAttentionPair(
        _ shape: AttentionShape, scratchCount: Int,
        _ body: @escaping @Sendable (Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let pairs = shape.sequences * shape.heads, chunks = min(cores, pairs), size = (pairs + chunks - 1) / chunks
        let run: @Sendable (Int) -> Void = { chunk in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for pair in (chunk * size)..<min(pairs, (chunk + 1) * size) { body(pair, scratch) }
        }
        if chunks == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
    }
}
