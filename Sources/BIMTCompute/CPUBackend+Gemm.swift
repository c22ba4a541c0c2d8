import CBIMTKernels
import COpenBLAS
import Dispatch
import Foundation

// The CPU twin of Kernels/gemm.cl: OpenBLAS, and Sources/CBIMTKernels/gemm.c for tall products.
extension CPUBackend {
    /// M*N*K from which a GEMM is split over the cores (see `gemm`).
    var blasSplitThreshold: Int { 1 << 20 }

    /// GEMM through single-threaded OpenBLAS calls. Large products are split into one slab
    /// of C per core (rows of C, or columns when N is larger) on Dispatch threads: OpenBLAS's
    /// own thread pool spins (sched_yield) between calls and fought the cores the rest of a
    /// training step needs.
    func gemm(
        _ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice, precision: MatrixPrecision
    ) throws {
        switch precision {
        case .fp32: gemm(op, a: a, b: b, c: c)
        case .bf16: try gemmBF16(op, a: a, b: b, c: c)
        }
    }

    /// The fp32 product.
    func gemm(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) {
        let pa = pointer(a), pb = pointer(b), pc = pointer(c)
        if CPUBackend.usesRowGemm(op) {
            rowGemm(op, pa, pb, pc)
            return
        }
        let parts = op.m * op.n * op.k >= blasSplitThreshold ? min(cores, max(op.m, op.n)) : 1
        let splitRows = op.m >= op.n
        if parts == 1 && op.batchCount > 1 && op.batchCount * op.m * op.n * op.k >= blasSplitThreshold {
            // Many small products (attention heads over a batch): whole products per core.
            let shared = UncheckedSendable((pa, pb, pc))
            let chunks = min(cores, op.batchCount), size = (op.batchCount + chunks - 1) / chunks
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                let (pa, pb, pc) = shared.value
                for batch in (chunk * size)..<min(op.batchCount, (chunk + 1) * size) {
                    CPUBackend.sgemm(
                        op, m: op.m, n: op.n, pa + batch * op.strideA, pb + batch * op.strideB,
                        pc + batch * op.strideC)
                }
            }
            return
        }
        for batch in 0..<op.batchCount {
            let a0 = pa + batch * op.strideA, b0 = pb + batch * op.strideB, c0 = pc + batch * op.strideC
            let shared = UncheckedSendable((a0, b0, c0))
            let extent = splitRows ? op.m : op.n, size = (extent + parts - 1) / parts
            let run: @Sendable (Int) -> Void = { part in
                let (a0, b0, c0) = shared.value
                let start = part * size, count = min(extent, start + size) - start
                guard count > 0 else { return }
                if splitRows {
                    // Rows [start, start+count) of C read rows of op(A).
                    CPUBackend.sgemm(
                        op, m: count, n: op.n, op.transposeA ? a0 + start : a0 + start * op.lda, b0,
                        c0 + start * op.ldc)
                } else {
                    // Columns [start, start+count) of C read columns of op(B).
                    CPUBackend.sgemm(
                        op, m: op.m, n: count, a0, op.transposeB ? b0 + start * op.ldb : b0 + start,
                        c0 + start)
                }
            }
            if parts == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: run) }
        }
    }

    /// The bf16 product through oneDNN: A and B are rounded into dense bf16 copies (as stored,
    /// so a transpose stays a stride), then one oneDNN matmul over the whole batch writes C in
    /// fp32 (alpha as its output scale, beta as its sum post-op). B with batch stride 0 is
    /// rounded once and broadcast.
    func gemmBF16(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        let dnnl = try OneDNN.shared.get()
        let (ar, ac) = op.storedA, (br, bc) = op.storedB
        let batchB = op.batchCount > 1 && op.strideB == 0 ? 1 : op.batchCount
        let countA = op.batchCount * ar * ac, countB = batchB * br * bc
        let words = bf16Scratch(count: countA + countB)
        CPUBackend.packBF16(
            pointer(a), rows: ar, columns: ac, ld: op.lda, batch: op.batchCount, stride: op.strideA, into: words)
        CPUBackend.packBF16(
            pointer(b), rows: br, columns: bc, ld: op.ldb, batch: batchB, stride: op.strideB, into: words + countA)
        let key = OneDNN.Key(
            bf16: true, batch: op.batchCount, batchB: batchB, m: op.m, n: op.n, k: op.k,
            strideA: [op.m * op.k] + (op.transposeA ? [1, op.m] : [op.k, 1]),
            strideB: [op.k * op.n] + (op.transposeB ? [1, op.k] : [op.n, 1]),
            strideC: [op.batchCount > 1 ? op.strideC : op.m * op.ldc, op.ldc, 1], alpha: op.alpha, beta: op.beta)
        try dnnl.run(key, a: words, b: words + countA, c: pointer(c))
    }

    /// Whether `op` goes to `bimt_gemm_rows` instead of OpenBLAS: tall products (M >= 256)
    /// with 16 to 320 columns whose B (K x N) is at most 512 KiB, A as it is (not
    /// transposed), one product, on a processor with AVX-512. Those are a convolution's
    /// forward pass (columns times the filters) and its column gradient (dZ times the
    /// filters), where OpenBLAS spent a third of its time packing A and clearing C. Wider
    /// products were slower than OpenBLAS (they read all of B once per 6 rows).
    static func usesRowGemm(_ op: GemmOperation) -> Bool {
        rowGemmAvailable && !op.transposeA && op.batchCount == 1 && op.m >= 256
            && (16...320).contains(op.n) && op.k * op.n <= 1 << 17
    }

    /// AVX-512 present and `BIMT_ROW_GEMM` not "off" (which keeps every product on OpenBLAS).
    static let rowGemmAvailable =
        bimt_gemm_rows_vectorized() != 0
        && ProcessInfo.processInfo.environment["BIMT_ROW_GEMM"] != "off"

    /// `bimt_gemm_rows` over bands of rows (multiples of its 6-row blocks), one per core; a
    /// transposed B is first copied row-major (it is small).
    func rowGemm(
        _ op: GemmOperation, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ c: UnsafeMutablePointer<Float>
    ) {
        var rowMajorB: UnsafeMutablePointer<Float>? = nil
        if op.transposeB {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: op.k * op.n)
            for k in 0..<op.k { for n in 0..<op.n { copy[k * op.n + n] = b[n * op.ldb + k] } }
            rowMajorB = copy
        }
        defer { rowMajorB?.deallocate() }
        let ldb = op.transposeB ? op.n : op.ldb
        let shared = UncheckedSendable((a, UnsafePointer(rowMajorB ?? UnsafeMutablePointer(mutating: b)), c))
        let blocks = (op.m + 5) / 6
        parallelChunks(blocks, grain: 8) { range in
            let (a, b, c) = shared.value
            let first = range.lowerBound * 6, rows = min(op.m, range.upperBound * 6) - first
            bimt_gemm_rows(
                Int32(rows), Int32(op.n), Int32(op.k), op.alpha, op.beta, a + first * op.lda, Int32(op.lda),
                b, Int32(ldb), c + first * op.ldc, Int32(op.ldc))
        }
    }

    /// One single-threaded OpenBLAS call: an m x n block of `op`'s C (its transposes, K,
    /// alpha, beta and leading dimensions) from the given corners of A, B and C.
    static func sgemm(
        _ op: GemmOperation, m: Int, n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ c: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemm(
            CblasRowMajor, op.transposeA ? CblasTrans : CblasNoTrans, op.transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(op.k), op.alpha, a, Int32(op.lda), b, Int32(op.ldb), op.beta, c,
            Int32(op.ldc))
    }
}
