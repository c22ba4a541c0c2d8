/// OpenCL launches of Kernels/gemm.cl.
extension OpenCLBackend {
    func gemm(
        _ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice, precision: MatrixPrecision
    ) throws {
        guard precision == .fp32 else {
            throw ComputeError.unavailable("bf16 products on \(name): \(bf16Support.reason)")
        }
        try gemm(op, a: a, b: b, c: c)
    }

    /// The fp32 product.
    func gemm(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        switch gemmVariant {
        case .tiled, .automatic:
            let (sAm, sAk) = op.stridesA
            let sBk = op.transposeB ? 1 : op.ldb, sBn = op.transposeB ? op.ldb : 1
            let t = tuning
            let local = [t.tsn / t.wptn, t.tsm / t.wptm, 1]
            let tiles = [(op.n + t.tsn - 1) / t.tsn, (op.m + t.tsm - 1) / t.tsm]
            let (splits, chunk) = t.kSplits(
                m: op.m, n: op.n, k: op.k, batch: op.batchCount, computeUnits: device.computeUnits)
            let global = [tiles[0] * local[0], tiles[1] * local[1], op.batchCount * splits]
            if splits == 1 {
                try enqueue.gemmTiled(
                    M: op.m, N: op.n, K: op.k, alpha: op.alpha, beta: op.beta,
                    A: a, sAm: sAm, sAk: sAk, strideA: op.strideA, B: b, sBk: sBk, sBn: sBn, strideB: op.strideB,
                    C: c, ldc: op.ldc, strideC: op.strideC, splits: 1, kChunk: op.k, global: global, local: local)
                return
            }
            // Each K range's product into scratch, then C = alpha * their sum + beta * C.
            let partial = try scratchSlice(.splitK, count: op.batchCount * splits * op.m * op.n)
            try enqueue.gemmTiled(
                M: op.m, N: op.n, K: op.k, alpha: 1, beta: 0,
                A: a, sAm: sAm, sAk: sAk, strideA: op.strideA, B: b, sBk: sBk, sBn: sBn, strideB: op.strideB,
                C: partial, ldc: op.n, strideC: op.m * op.n, splits: splits, kChunk: chunk,
                global: global, local: local)
            try enqueue.gemmSplitkReduce(
                M: op.m, N: op.n, splits: splits, alpha: op.alpha, beta: op.beta, partial: partial,
                C: c, ldc: op.ldc, strideC: op.strideC,
                global: [op.n, op.m, op.batchCount], local: [min(16, op.n), 1, 1])
        case .vector:
            // K deeper than KC goes through in blocks of KC, each launch adding its block's
            // product into C (the first applies beta): a block's panel of B then stays in L2.
            let depth = tuning.kc
            var k0 = 0
            repeat {
                var block = op
                block.k = min(depth, op.k - k0)
                if k0 > 0 { block.beta = 1 }
                let shiftA = k0 * op.stridesA.k, shiftB = k0 * (op.transposeB ? 1 : op.ldb)
                try gemmVector(
                    block, a: a.slice(offset: shiftA, count: a.count - shiftA),
                    b: b.slice(offset: shiftB, count: b.count - shiftB), c: c)
                k0 += depth
            } while k0 < op.k
        }
    }

    /// gemm_vector over all of K (see `gemm`).
    private func gemmVector(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        let (sAm, sAk) = op.stridesA
        // Operands that would stride a page or more per k step (large leading dimensions,
        // deep K) go into panels first: B as VW*NV columns, A as RM rows, each K steps of
        // contiguous floats. A transposed B is always repacked (the kernel reads B by rows).
        // Small products read their operands as they are: a packing launch costs more there.
        let t = tuning, width = t.vw * t.nv
        let panelsA = (op.m + t.rm - 1) / t.rm, panelsB = (op.n + width - 1) / width
        let deep = op.k >= 256
        var (operandB, ldb, strideB, bPanels) = (b, op.ldb, op.strideB, 0)
        if op.transposeB || (deep && op.ldb >= 1024) {
            let floatsB = panelsB * width * op.k
            let packedB = try scratchSlice(.packedB, count: op.batchCount * floatsB)
            try packPanels(
                b, rows: op.n, width: width, k: op.k, rowStride: op.transposeB ? op.ldb : 1,
                kStride: op.transposeB ? 1 : op.ldb, batchStride: op.strideB, batch: op.batchCount,
                into: packedB, panelStride: floatsB)
            (operandB, ldb, strideB, bPanels) = (packedB, 0, floatsB, 1)
        }
        // Strided A (aPanels = 0), or its panels.
        var (panelsOrA, rowStrideA, kStrideA, strideA, aPanels) = (a, sAm, sAk, op.strideA, 0)
        if op.transposeA && deep && op.lda >= 1024 {
            let floatsA = panelsA * t.rm * op.k
            let packedA = try scratchSlice(.packedA, count: op.batchCount * floatsA)
            try packPanels(
                a, rows: op.m, width: t.rm, k: op.k, rowStride: sAm, kStride: sAk, batchStride: op.strideA,
                batch: op.batchCount, into: packedA, panelStride: floatsA)
            (panelsOrA, rowStrideA, kStrideA, strideA, aPanels) = (packedA, 0, 0, floatsA, 1)
        }
        let local = [min(t.lx, panelsB), min(t.ly, panelsA), 1]
        try enqueue.gemmVector(
            M: op.m, N: op.n, K: op.k, alpha: op.alpha, beta: op.beta,
            A: panelsOrA, sAm: rowStrideA, sAk: kStrideA, strideA: strideA, aPanels: aPanels,
            B: operandB, ldb: ldb, strideB: strideB, bPanels: bPanels, C: c, ldc: op.ldc, strideC: op.strideC,
            global: [panelsB, panelsA, op.batchCount], local: local)
    }

    /// gemm.cl's pack_panels: rows of X (element (r, k) at r * rowStride + k * kStride) into
    /// panels of `width` rows, K steps of `width` contiguous floats each; a work-item writes 16
    /// steps of a panel (one float per work-item made packing a fifth of a 1024-cube on PoCL).
    private func packPanels(
        _ x: BufferSlice, rows: Int, width: Int, k: Int, rowStride: Int, kStride: Int, batchStride: Int,
        batch: Int, into panels: BufferSlice, panelStride: Int
    ) throws {
        let chunk = 16, panelCount = (rows + width - 1) / width
        try enqueue.packPanels(
            K: k, rows: rows, width: width, chunk: chunk, X: x, sR: rowStride, sK: kStride,
            strideX: batchStride, P: panels, strideP: panelStride,
            global: [(k + chunk - 1) / chunk, panelCount, batch], local: [1, min(16, panelCount), 1])
    }
}

extension OpenCLBackend {
    var bf16Support: BF16Support {
        BF16Support(available: false, native: false, reason: "bimt's OpenCL kernels read fp32 operands only")
    }
}

extension GemmOperation {
    /// op(A)(m, k) = A[m * stridesA.m + k * stridesA.k] within one product.
    var stridesA: (m: Int, k: Int) { transposeA ? (1, lda) : (lda, 1) }
}
