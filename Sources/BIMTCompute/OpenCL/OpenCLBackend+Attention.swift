/// Blocked causal attention on OpenCL: for each head and block of query rows, batched GEMMs
/// over the sequences (the device's tuned GEMM) and Kernels/attention.cl's row kernels, with
/// scratch of [sequences, block, length] instead of [sequences, heads, length, length].
extension OpenCLBackend {
    /// The GEMM of one block: operands are (slice, offset, leading dimension, stride between sequences).
    private func blockProduct(
        _ shape: AttentionShape, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0, a: StridedOperand, b: StridedOperand, c: StridedOperand
    ) throws {
        let product = GemmOperation.strided(
            m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta,
            batch: shape.sequences, a: a, b: b, c: c)
        try gemm(product.operation, a: product.a, b: product.b, c: product.c)
    }

    /// A head's keys or values from qkv's `column` as [sequences, hd, length] in `into`.
    private func transposedHead(_ shape: AttentionShape, _ qkv: BufferSlice, column: Int, into y: BufferSlice) throws {
        try enqueue.attentionTransposeHead(
            length: shape.length, ld: 3 * shape.width, column: column, hd: shape.headDimension, x: qkv, y: y,
            global: [shape.length, shape.headDimension, shape.sequences],
            local: [groups.group, 1, 1])
    }

    func causalAttentionForward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, logSumExp: BufferSlice,
        dropoutRate: Float, dropoutKey: UInt64
    ) throws {
        let (l, hd, d) = (shape.length, shape.headDimension, shape.width),
            block = AttentionShape.queryBlock(openCL: true)
        let (keyLow, keyHigh) = (UInt32(truncatingIfNeeded: dropoutKey), UInt32(truncatingIfNeeded: dropoutKey >> 32))
        let (threshold, dropScale) = (DropoutMask.threshold(dropoutRate), DropoutMask.scale(dropoutRate))
        let rowLocal = constants.rowLocal.value
        let s = try scratchSlice(.attentionScores, count: shape.sequences * min(block, l) * l)
        let kt = try scratchSlice(.attentionKeys, count: shape.sequences * hd * l)
        for head in 0..<shape.heads {
            try transposedHead(shape, qkv, column: d + head * hd, into: kt)
            for first in stride(from: 0, to: l, by: block) {
                let rows = min(block, l - first), reach = first + rows
                try blockProduct(
                    shape, m: rows, n: reach, k: hd, alpha: 1 / Float(hd).squareRoot(),
                    a: (qkv, first * 3 * d + head * hd, 3 * d, l * 3 * d), b: (kt, 0, l, hd * l), c: (s, 0, l, rows * l)
                )
                try enqueue.attentionSoftmaxBlock(
                    rows: rows, first: first, ld: l, heads: shape.heads, head: head, length: l,
                    keyLow: keyLow, keyHigh: keyHigh, threshold: threshold, dropScale: dropScale, s: s, lse: logSumExp,
                    global: [shape.sequences * rows * rowLocal], local: [rowLocal])
                try blockProduct(
                    shape, m: rows, n: hd, k: reach, a: (s, 0, l, rows * l),
                    b: (qkv, 2 * d + head * hd, 3 * d, l * 3 * d),
                    c: (output, first * d + head * hd, d, l * d))
            }
        }
    }

    func causalAttentionBackward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, outputGradient: BufferSlice,
        logSumExp: BufferSlice, qkvGradient: BufferSlice, dropoutRate: Float, dropoutKey: UInt64
    ) throws {
        let (l, hd, d) = (shape.length, shape.headDimension, shape.width),
            block = AttentionShape.queryBlock(openCL: true)
        let scale = 1 / Float(hd).squareRoot(), count = shape.sequences * min(block, l) * l
        let (keyLow, keyHigh) = (UInt32(truncatingIfNeeded: dropoutKey), UInt32(truncatingIfNeeded: dropoutKey >> 32))
        let (threshold, dropScale) = (DropoutMask.threshold(dropoutRate), DropoutMask.scale(dropoutRate))
        let rowLocal = constants.rowLocal.value
        let s = try scratchSlice(.attentionScores, count: count),
            dp = try scratchSlice(.attentionScoreGradients, count: count)
        let kt = try scratchSlice(.attentionKeys, count: shape.sequences * hd * l)
        let vt = try scratchSlice(.attentionValues, count: shape.sequences * hd * l)
        for head in 0..<shape.heads {
            let (q, k, v) = (head * hd, d + head * hd, 2 * d + head * hd)
            try transposedHead(shape, qkv, column: k, into: kt)
            try transposedHead(shape, qkv, column: v, into: vt)
            // The last block reaches every key: it sets dK and dV, the earlier ones add to them.
            for first in stride(from: 0, to: l, by: block).reversed() {
                let rows = min(block, l - first), reach = first + rows, beta: Float = reach == l ? 0 : 1
                try blockProduct(
                    shape, m: rows, n: reach, k: hd, alpha: scale,
                    a: (qkv, first * 3 * d + q, 3 * d, l * 3 * d), b: (kt, 0, l, hd * l), c: (s, 0, l, rows * l))
                try blockProduct(
                    shape, m: rows, n: reach, k: hd, a: (outputGradient, first * d + head * hd, d, l * d),
                    b: (vt, 0, l, hd * l), c: (dp, 0, l, rows * l))
                try enqueue.attentionBackwardBlock(
                    rows: rows, first: first, ld: l, heads: shape.heads, head: head, length: l, hd: hd,
                    keyLow: keyLow, keyHigh: keyHigh, threshold: threshold, dropScale: dropScale,
                    s: s, dp: dp, lse: logSumExp, out: output, dout: outputGradient,
                    global: [shape.sequences * rows * rowLocal], local: [rowLocal])
                // dV (+)= dropout(P)^T dY;  dQ = dS K / sqrt(hd);  dK (+)= dS^T Q / sqrt(hd).
                try blockProduct(
                    shape, m: reach, n: hd, k: rows, transposeA: true, beta: beta, a: (s, 0, l, rows * l),
                    b: (outputGradient, first * d + head * hd, d, l * d), c: (qkvGradient, v, 3 * d, l * 3 * d))
                try blockProduct(
                    shape, m: rows, n: hd, k: reach, alpha: scale, a: (dp, 0, l, rows * l),
                    b: (qkv, k, 3 * d, l * 3 * d),
                    c: (qkvGradient, first * 3 * d + q, 3 * d, l * 3 * d))
                try blockProduct(
                    shape, m: reach, n: hd, k: rows, transposeA: true, alpha: scale, beta: beta,
                    a: (dp, 0, l, rows * l),
                    b: (qkv, first * 3 * d + q, 3 * d, l * 3 * d), c: (qkvGradient, k, 3 * d, l * 3 * d))
            }
        }
    }
}
