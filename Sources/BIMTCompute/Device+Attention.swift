/// The shape of causal self-attention over packed rows: `qkv` is [sequences * length, 3 *
/// width] with head h's query, key and value at columns h * headDimension, width + h *
/// headDimension and 2 * width + h * headDimension; the output is [sequences * length, width].
public struct AttentionShape: Sendable, Equatable {
    /// Sequences in the batch.
    public var sequences: Int
    /// Positions per sequence.
    public var length: Int
    /// Attention heads.
    public var heads: Int
    /// Features per head.
    public var headDimension: Int

    /// A batch of `sequences` of `length` positions, `heads` heads of `headDimension` features.
    public init(sequences: Int, length: Int, heads: Int, headDimension: Int) {
        self.sequences = sequences
        self.length = length
        self.heads = heads
        self.headDimension = headDimension
    }

    /// heads * headDimension.
    public var width: Int { heads * headDimension }
    /// Rows of qkv and of the output: sequences * length.
    public var rows: Int { sequences * length }
    /// One log-sum-exp per (sequence, head, position): sequences * heads * length.
    public var statisticsCount: Int { sequences * heads * length }
    /// Floats the unfused path holds per layer for the probabilities [sequences, heads,
    /// length, length] (its backward needs two more such tensors of scratch).
    public var scoresCount: Int { sequences * heads * length * length }
    /// Query rows per block of fused attention: 64 on the CPU path (one block per core at a
    /// time), 128 on OpenCL (every sequence's block in one batched GEMM).
    public static func queryBlock(openCL: Bool) -> Int { openCL ? 128 : 64 }
}

/// Fused causal self-attention: the [length, length] score matrix is never stored. Blocks of
/// query rows (`AttentionShape.queryBlock`) are computed against the keys they can see (the
/// masked half of the scores is skipped), in scratch of one block per core on the CPU path
/// and of one block per sequence on OpenCL (Kernels/attention.cl and its C twin hold the row math). The forward
/// saves one log-sum-exp per query row; the backward recomputes the probabilities from it.
extension Device {
    /// output = softmax(Q K^T / sqrt(hd), causal) V per head (with dropout of the
    /// probabilities at `dropoutRate`, masks keyed by `dropoutKey` as `dropout` draws them on
    /// the unfused [sequences, heads, length, length] tensor); logSumExp [statisticsCount]
    /// is saved for the backward.
    public func causalAttentionForward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, logSumExp: BufferSlice,
        dropoutRate: Float = 0, dropoutKey: UInt64 = 0
    ) throws {
        try attentionChecks(shape, qkv: qkv, output: output, logSumExp: logSumExp, dropoutRate: dropoutRate)
        try backend.causalAttentionForward(
            shape, qkv: qkv, output: output, logSumExp: logSumExp, dropoutRate: dropoutRate,
            dropoutKey: dropoutKey)
    }

    /// Sets qkvGradient (all three column blocks) from outputGradient, given the forward's
    /// qkv, output and logSumExp and the same dropout.
    public func causalAttentionBackward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, outputGradient: BufferSlice,
        logSumExp: BufferSlice, qkvGradient: BufferSlice,
        dropoutRate: Float = 0, dropoutKey: UInt64 = 0
    ) throws {
        try attentionChecks(shape, qkv: qkv, output: output, logSumExp: logSumExp, dropoutRate: dropoutRate)
        for (slice, count, role) in [
            (outputGradient, shape.rows * shape.width, "output gradient"),
            (qkvGradient, shape.rows * 3 * shape.width, "qkv gradient"),
        ] {
            guard slice.buffer.owner == ObjectIdentifier(backend) else {
                throw ComputeError.foreignBuffer("the attention \(role) buffer was not allocated by \(name)")
            }
            guard slice.count == count else {
                throw ComputeError.shapeMismatch("attention \(role) holds \(slice.count) elements, not \(count)")
            }
        }
        guard qkvGradient.buffer !== qkv.buffer, qkvGradient.buffer !== outputGradient.buffer else {
            throw ComputeError.invalidArgument(
                "the attention qkv gradient must not share a buffer with qkv or the output gradient")
        }
        try backend.causalAttentionBackward(
            shape, qkv: qkv, output: output, outputGradient: outputGradient, logSumExp: logSumExp,
            qkvGradient: qkvGradient, dropoutRate: dropoutRate, dropoutKey: dropoutKey)
    }

    /// The same attention computed the way the fused kernels replaced (kept as their
    /// reference and for comparison): per-head GEMMs into `probabilities` [scoresCount], a
    /// causal softmax, and, with dropout, dropout(P) in `scratch` [scoresCount] mixing the
    /// values. `probabilities` is what the backward needs.
    public func unfusedCausalAttentionForward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, probabilities: BufferSlice,
        scratch: BufferSlice, dropoutRate: Float = 0, dropoutKey: UInt64 = 0
    ) throws {
        let (l, h, hd, d) = (shape.length, shape.heads, shape.headDimension, shape.width), scores = h * l * l
        for head in 0..<h {
            // S = Q K^T / sqrt(hd)
            try headProduct(
                shape, m: l, n: l, k: hd, transposeB: true, alpha: 1 / Float(hd).squareRoot(),
                a: (qkv, head * hd, 3 * d, l * 3 * d), b: (qkv, d + head * hd, 3 * d, l * 3 * d),
                c: (probabilities, head * l * l, l, scores))
        }
        try softmaxCausal(probabilities, output: probabilities, rows: shape.sequences * h * l, length: l)
        let mixing = try droppedProbabilities(probabilities, scratch: scratch, rate: dropoutRate, key: dropoutKey)
        for head in 0..<h {
            // Y_h = P V_h
            try headProduct(
                shape, m: l, n: hd, k: l, a: (mixing, head * l * l, l, scores),
                b: (qkv, 2 * d + head * hd, 3 * d, l * 3 * d), c: (output, head * hd, d, l * d))
        }
    }

    /// The backward of `unfusedCausalAttentionForward`: sets qkvGradient, with two scratch
    /// tensors of scoresCount.
    public func unfusedCausalAttentionBackward(
        _ shape: AttentionShape, qkv: BufferSlice, outputGradient: BufferSlice,
        probabilities: BufferSlice, scratch: (BufferSlice, BufferSlice), qkvGradient: BufferSlice,
        dropoutRate: Float = 0, dropoutKey: UInt64 = 0
    ) throws {
        let (l, h, hd, d) = (shape.length, shape.heads, shape.headDimension, shape.width), scores = h * l * l
        let (dProbabilities, dScores) = scratch, scale = 1 / Float(hd).squareRoot()
        let mixing = try droppedProbabilities(probabilities, scratch: dScores, rate: dropoutRate, key: dropoutKey)
        for head in 0..<h {
            // dP = dY_h V_h^T;  dV_h = P^T dY_h  (P: what mixed the values, dropout(P) with dropout)
            try headProduct(
                shape, m: l, n: l, k: hd, transposeB: true, a: (outputGradient, head * hd, d, l * d),
                b: (qkv, 2 * d + head * hd, 3 * d, l * 3 * d), c: (dProbabilities, head * l * l, l, scores))
            try headProduct(
                shape, m: l, n: hd, k: l, transposeA: true, a: (mixing, head * l * l, l, scores),
                b: (outputGradient, head * hd, d, l * d), c: (qkvGradient, 2 * d + head * hd, 3 * d, l * 3 * d))
        }
        if dropoutRate > 0 { try dropout(dProbabilities, into: dProbabilities, rate: dropoutRate, key: dropoutKey) }
        try softmaxBackward(
            output: probabilities, outputGradient: dProbabilities, rows: shape.sequences * h * l, columns: l,
            inputGradient: dScores)
        for head in 0..<h {
            // dQ_h = dS K_h / sqrt(hd);  dK_h = dS^T Q_h / sqrt(hd)
            try headProduct(
                shape, m: l, n: hd, k: l, alpha: scale, a: (dScores, head * l * l, l, scores),
                b: (qkv, d + head * hd, 3 * d, l * 3 * d), c: (qkvGradient, head * hd, 3 * d, l * 3 * d))
            try headProduct(
                shape, m: l, n: hd, k: l, transposeA: true, alpha: scale, a: (dScores, head * l * l, l, scores),
                b: (qkv, head * hd, 3 * d, l * 3 * d), c: (qkvGradient, d + head * hd, 3 * d, l * 3 * d))
        }
    }

    /// P, or dropout(P) in `scratch` when `rate` > 0.
    private func droppedProbabilities(_ probabilities: BufferSlice, scratch: BufferSlice, rate: Float, key: UInt64)
        throws -> BufferSlice
    {
        guard rate > 0 else { return probabilities }
        try dropout(probabilities, into: scratch, rate: rate, key: key)
        return scratch
    }

    /// A strided-batched GEMM over the sequences for one head. Each operand: (slice, offset,
    /// leading dimension, stride between sequences). Attention computes in fp32 at every
    /// `matrixPrecision`, as the fused kernels do, so the two kernels give the same results.
    private func headProduct(
        _ shape: AttentionShape, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, a: StridedOperand, b: StridedOperand, c: StridedOperand
    ) throws {
        let product = GemmOperation.strided(
            m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
            batch: shape.sequences, a: a, b: b, c: c)
        try gemm(product.operation, a: product.a, b: product.b, c: product.c, precision: .fp32)
    }

    /// Floats of scratch fused attention uses on this device for `shape`, besides its
    /// statistics: two blocks of scores of [queryBlock, length] per core on the CPU path; none
    /// for OpenCL's single-launch kernels (their tiles live in local memory); on OpenCL's
    /// blocked path, two of [sequences, queryBlock, length] and a head's keys and values transposed.
    public func fusedAttentionScratchCount(_ shape: AttentionShape) -> Int {
        let openCL = kind.isOpenCL, rows = min(shape.length, AttentionShape.queryBlock(openCL: openCL))
        guard openCL else { return 2 * processorCount * rows * shape.length }
        if let backend = backend as? OpenCLBackend, backend.singleLaunchAttentionProblem(shape) == nil {
            return 0
        }
        return 2 * shape.sequences * (rows + shape.headDimension) * shape.length
    }

    /// How fused attention runs on this device for `shape`, in words: on OpenCL, the
    /// single-launch kernels or the blocked path and why.
    public func fusedAttentionKernels(_ shape: AttentionShape) -> String {
        guard let backend = backend as? OpenCLBackend else {
            return "CPU path: blocks of \(AttentionShape.queryBlock(openCL: false)) query rows, one per core"
        }
        let blocked = "blocked: GEMMs per head and block of \(AttentionShape.queryBlock(openCL: true)) query rows"
        if let problem = backend.singleLaunchAttentionProblem(shape) { return "\(blocked) (\(problem))" }
        let (block, local) = (backend.constants.attentionBlock.value, backend.constants.attentionLocal.value)
        return "single launch per layer (backward: two), \(block)-row tiles, work-groups of \(local)"
    }

    private func attentionChecks(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, logSumExp: BufferSlice,
        dropoutRate: Float
    ) throws {
        guard shape.sequences >= 1, shape.length >= 1, shape.heads >= 1, shape.headDimension >= 1 else {
            throw ComputeError.invalidArgument(
                "attention needs at least one sequence, position, head and feature per head, got \(shape)")
        }
        guard dropoutRate >= 0, dropoutRate < 1 else {
            throw ComputeError.invalidArgument("the dropout rate must lie in [0, 1), got \(dropoutRate)")
        }
        guard output.buffer !== qkv.buffer, logSumExp.buffer !== qkv.buffer, logSumExp.buffer !== output.buffer else {
            throw ComputeError.invalidArgument(
                "attention's qkv, output and log-sum-exp must be three different buffers")
        }
        for (slice, count, role) in [
            (qkv, shape.rows * 3 * shape.width, "qkv"), (output, shape.rows * shape.width, "output"),
            (logSumExp, shape.statisticsCount, "log-sum-exp"),
        ] {
            guard slice.buffer.owner == ObjectIdentifier(backend) else {
                throw ComputeError.foreignBuffer("the attention \(role) buffer was not allocated by \(name)")
            }
            guard slice.count == count else {
                throw ComputeError.shapeMismatch(
                    "attention \(role) holds \(slice.count) elements, not \(count) for \(shape)")
            }
        }
    }
}
