/// OpenCL launches of Kernels/gemm.cl.
extension OpenCLBackend {
    func gemm(
        _ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice, precision: MatrixPrecision
    ) throws {
        switch precision {
        case .fp32: try gemm(op, a: a, b: b, c: c)
        case .bf16: try gemmBF16(op, a: a, b: b, c: c)
        }
    }

    /// The fp32 product.
    func gemm(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        switch gemmVariant {
        case .tiled, .automatic:
            try gemmTiled(op, a: a, b: b, c: c, bf16: false)
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

    /// The bf16 product on any device type: A and B rounded into dense 16-bit words as stored
    /// (precision.cl's bf16_pack; a B with batch stride 0 once), then gemm_tiled_bf16, which
    /// widens each tile to fp32 as it fetches it and accumulates in fp32.
    func gemmBF16(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        let (ar, ac) = op.storedA, (br, bc) = op.storedB
        let batchB = op.batchCount > 1 && op.strideB == 0 ? 1 : op.batchCount
        let packedA = try scratchSlice(.bf16A, count: (op.batchCount * ar * ac + 1) / 2)
        let packedB = try scratchSlice(.bf16B, count: (batchB * br * bc + 1) / 2)
        try packBF16(a, rows: ar, columns: ac, ld: op.lda, batch: op.batchCount, stride: op.strideA, into: packedA)
        try packBF16(b, rows: br, columns: bc, ld: op.ldb, batch: batchB, stride: op.strideB, into: packedB)
        var dense = op
        (dense.lda, dense.ldb) = (ac, bc)
        (dense.strideA, dense.strideB) = (ar * ac, batchB == 1 && op.batchCount > 1 ? 0 : br * bc)
        try gemmTiled(dense, a: packedA, b: packedB, c: c, bf16: true)
    }

    /// gemm_tiled (or, on bf16 words, gemm_tiled_bf16), split over K when the tiles alone
    /// would leave most compute units idle.
    private func gemmTiled(_ op: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice, bf16: Bool) throws {
        let (sAm, sAk) = op.stridesA
        let sBk = op.transposeB ? 1 : op.ldb, sBn = op.transposeB ? op.ldb : 1
        let t = tuning
        let local = [t.tsn / t.wptn, t.tsm / t.wptm, 1]
        let tiles = [(op.n + t.tsn - 1) / t.tsn, (op.m + t.tsm - 1) / t.tsm]
        let (splits, chunk) = t.kSplits(
            m: op.m, n: op.n, k: op.k, batch: op.batchCount, computeUnits: device.computeUnits)
        let global = [tiles[0] * local[0], tiles[1] * local[1], op.batchCount * splits]
        // Each K range's product into scratch (then C = alpha * their sum + beta * C), or C itself.
        let partial = splits == 1 ? c : try scratchSlice(.splitK, count: op.batchCount * splits * op.m * op.n)
        let (alpha, beta, ldc, strideC) =
            splits == 1 ? (op.alpha, op.beta, op.ldc, op.strideC) : (1, 0, op.n, op.m * op.n)
        let launch = bf16 ? enqueue.gemmTiledBf16 : enqueue.gemmTiled
        try launch(
            op.m, op.n, op.k, alpha, beta, a, sAm, sAk, op.strideA, b, sBk, sBn, op.strideB, partial, ldc, strideC,
            splits, splits == 1 ? op.k : chunk, global, local)
        guard splits > 1 else { return }
        try enqueue.gemmSplitkReduce(
            M: op.m, N: op.n, splits: splits, alpha: op.alpha, beta: op.beta, partial: partial,
            C: c, ldc: op.ldc, strideC: op.strideC,
            global: [op.n, op.m, op.batchCount], local: [min(groups.group, op.n), 1, 1])
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

extension GemmOperation {
    /// op(A)(m, k) = A[m * stridesA.m + k * stridesA.k] within one product.
    var stridesA: (m: Int, k: Int) { transposeA ? (1, lda) : (lda, 1) }
}
