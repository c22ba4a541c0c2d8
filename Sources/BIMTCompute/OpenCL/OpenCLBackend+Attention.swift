/// Which kernels compute fused attention on an OpenCL device.
enum OpenCLAttentionKernels: String, Sendable {
    /// attention_single.cl's kernels: the forward in one launch per layer (every head
    /// and query block), the backward in two; nothing but the log-sum-exp leaves a work-group.
    case single
    /// For each head and block of query rows, batched GEMMs over the sequences (the device's
    /// tuned GEMM) and attention.cl's row kernels, with scratch of [sequences, block, length].
    case blocked

    /// `BIMT_OPENCL_ATTENTION` (single or blocked) if set; else single on GPU-class devices
    /// (GPUs, accelerators, or any device under BIMT_OPENCL_GROUPS=gpu) and blocked on
    /// CPU-type ones, where PoCL runs the blocked path 3-6x faster (`bimt bench attention
    /// --device opencl` with either setting). With the choice, why it was made.
    static func resolved(environment: [String: String], deviceType: String) throws
        -> (kernels: OpenCLAttentionKernels, reason: String)
    {
        if let value = environment["BIMT_OPENCL_ATTENTION"], !value.isEmpty {
            guard let kernels = OpenCLAttentionKernels(rawValue: value) else {
                throw ComputeError.invalidArgument(
                    "BIMT_OPENCL_ATTENTION must be single (one launch per layer) or blocked (GEMMs per head and "
                        + "query block), got '\(value)'")
            }
            return (kernels, "BIMT_OPENCL_ATTENTION=\(value)")
        }
        switch environment["BIMT_OPENCL_GROUPS"] {
        case "gpu": return (.single, "BIMT_OPENCL_GROUPS=gpu")
        case "cpu": return (.blocked, "BIMT_OPENCL_GROUPS=cpu")
        default:
            return deviceType == "GPU" || deviceType == "accelerator"
                ? (.single, "the default on GPU-class devices")
                : (.blocked, "the default on CPU-type devices; BIMT_OPENCL_ATTENTION=single to change it")
        }
    }
}

/// Causal attention on OpenCL: attention_single.cl's kernels where the head dimension
/// fits their tiles (at most ATT_HEAD_MAX) and the device can run them (local memory, the
/// kernels' largest work-group) and `attentionKernels` asks for them; the blocked path otherwise.
extension OpenCLBackend {
    /// Why the single-launch kernels cannot compute `shape` here (nil: they can).
    func singleLaunchAttentionProblem(_ shape: AttentionShape) -> String? {
        if attentionKernels == .blocked { return attentionKernelsReason }
        let headMax = constants.attentionHeadMax.value
        if shape.headDimension > headMax {
            return "head dimension \(shape.headDimension) exceeds the kernels' \(headMax)"
        }
        return singleLaunchAttentionDeviceProblem()
    }

    /// The device's side of `singleLaunchAttentionProblem`, found once.
    /// A device whose compiler fails them keeps the blocked path (the failure is the reason;
    /// they are a program of their own, so the blocked kernels still build).
    private func singleLaunchAttentionDeviceProblem() -> String? {
        if let known = attentionDeviceProblem { return known.isEmpty ? nil : known }
        let local = constants.attentionLocal.value, bytes = constants.attentionLocalBytes
        var problem = ""
        if bytes > device.localMemoryBytes {
            problem = "the kernels need \(bytes) bytes of local memory; the device has \(device.localMemoryBytes)"
        } else if local > device.maxWorkGroupSize {
            problem = "the kernels' work-group of \(local) exceeds the device's \(device.maxWorkGroupSize)"
        } else {
            do {
                for name in ["attention_forward", "attention_backward_key", "attention_backward_query"] {
                    let largest = try programs.workGroupInfo("attention_single", name).largest
                    if largest < local {
                        problem = "\(name) runs at most \(largest) work-items per group here, not \(local)"
                        break
                    }
                }
            } catch {
                problem = "the single-launch kernels cannot run here: \(error)"
            }
        }
        attentionDeviceProblem = problem
        return problem.isEmpty ? nil : problem
    }

    /// The single-launch kernels' common arguments and launch shape.
    private func singleLaunch(_ shape: AttentionShape, dropoutRate: Float, dropoutKey: UInt64)
        -> (
            scale: Float, keyLow: UInt32, keyHigh: UInt32, threshold: UInt32, dropScale: Float, global: [Int],
            local: [Int]
        )
    {
        let local = constants.attentionLocal.value, block = constants.attentionBlock.value
        let blocks = (shape.length + block - 1) / block
        return (
            1 / Float(shape.headDimension).squareRoot(), UInt32(truncatingIfNeeded: dropoutKey),
            UInt32(truncatingIfNeeded: dropoutKey >> 32), DropoutMask.threshold(dropoutRate),
            DropoutMask.scale(dropoutRate), [blocks * local, shape.heads, shape.sequences], [local, 1, 1]
        )
    }

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
        if singleLaunchAttentionProblem(shape) == nil {
            let a = singleLaunch(shape, dropoutRate: dropoutRate, dropoutKey: dropoutKey)
            try enqueue.attentionForward(
                length: shape.length, heads: shape.heads, hd: shape.headDimension, scale: a.scale,
                keyLow: a.keyLow, keyHigh: a.keyHigh, threshold: a.threshold, dropScale: a.dropScale,
                qkv: qkv, out: output, lse: logSumExp, global: a.global, local: a.local)
            return
        }
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
        if singleLaunchAttentionProblem(shape) == nil {
            let a = singleLaunch(shape, dropoutRate: dropoutRate, dropoutKey: dropoutKey)
            try enqueue.attentionBackwardKey(
                length: shape.length, heads: shape.heads, hd: shape.headDimension, scale: a.scale,
                keyLow: a.keyLow, keyHigh: a.keyHigh, threshold: a.threshold, dropScale: a.dropScale,
                qkv: qkv, out: output, dout: outputGradient, lse: logSumExp, dqkv: qkvGradient,
                global: a.global, local: a.local)
            try enqueue.attentionBackwardQuery(
                length: shape.length, heads: shape.heads, hd: shape.headDimension, scale: a.scale,
                keyLow: a.keyLow, keyHigh: a.keyHigh, threshold: a.threshold, dropScale: a.dropScale,
                qkv: qkv, out: output, dout: outputGradient, lse: logSumExp, dqkv: qkvGradient,
                global: a.global, local: a.local)
            return
        }
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
