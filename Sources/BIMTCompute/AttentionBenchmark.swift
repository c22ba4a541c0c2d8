import Dispatch

/// One attention path's timing and memory at one shape (`AttentionBenchmark.run`).
public struct AttentionTiming: Sendable {
    /// "fused" or "unfused".
    public var kernel: String
    /// Median seconds of one forward pass.
    public var forwardSeconds: Double
    /// Median seconds of one backward pass.
    public var backwardSeconds: Double
    /// Bytes kept from the forward pass for the backward (per layer, in a training step).
    public var storedBytes: Int
    /// Bytes of scratch the passes use besides (shared by the layers).
    public var scratchBytes: Int
}

/// Times fused and unfused causal attention, forward and backward, side by side on one
/// device, and checks that they agree.
public enum AttentionBenchmark {
    /// Medians of `repeat` alternating runs after a warm-up, and the largest difference
    /// between the two paths' outputs and qkv gradients relative to the largest value.
    public static func run(_ shape: AttentionShape, on device: Device, dropoutRate: Float = 0, repeat: Int = 5) throws
        -> (fused: AttentionTiming, unfused: AttentionTiming, relativeDifference: Double)
    {
        var generator = SeededGenerator(seed: 11)
        let qkv = try device.makeBuffer(generator.uniform(shape.rows * 3 * shape.width))
        let gradient = try device.makeBuffer(generator.uniform(shape.rows * shape.width))
        let output = try device.makeBuffer(count: shape.rows * shape.width),
            dqkv = try device.makeBuffer(count: shape.rows * 3 * shape.width)
        let lse = try device.makeBuffer(count: shape.statisticsCount)
        let scores = try (0..<3).map { _ in try device.makeBuffer(count: shape.scoresCount) }
        let key: UInt64 = 0x5EED
        func fusedForward() throws {
            try device.causalAttentionForward(
                shape, qkv: qkv.whole, output: output.whole, logSumExp: lse.whole,
                dropoutRate: dropoutRate, dropoutKey: key)
        }
        func fusedBackward() throws {
            try device.causalAttentionBackward(
                shape, qkv: qkv.whole, output: output.whole, outputGradient: gradient.whole,
                logSumExp: lse.whole, qkvGradient: dqkv.whole, dropoutRate: dropoutRate, dropoutKey: key)
        }
        func unfusedForward() throws {
            try device.unfusedCausalAttentionForward(
                shape, qkv: qkv.whole, output: output.whole, probabilities: scores[0].whole,
                scratch: scores[1].whole, dropoutRate: dropoutRate, dropoutKey: key)
        }
        func unfusedBackward() throws {
            try device.unfusedCausalAttentionBackward(
                shape, qkv: qkv.whole, outputGradient: gradient.whole,
                probabilities: scores[0].whole, scratch: (scores[1].whole, scores[2].whole),
                qkvGradient: dqkv.whole, dropoutRate: dropoutRate, dropoutKey: key)
        }
        let seconds = device.seconds
        // Agreement, then one warm-up pass of each.
        try unfusedForward(); try unfusedBackward()
        let reference = try device.read(output.whole) + device.read(dqkv.whole)
        try fusedForward(); try fusedBackward()
        let fusedValues = try device.read(output.whole) + device.read(dqkv.whole)
        let largest = reference.map { abs(Double($0)) }.max() ?? 0
        let worst = zip(fusedValues, reference).map { abs(Double($0) - Double($1)) }.max() ?? 0
        var times = [[Double]](repeating: [], count: 4)
        for _ in 0..<max(1, `repeat`) {
            times[0].append(try seconds(fusedForward)); times[1].append(try seconds(fusedBackward))
            times[2].append(try seconds(unfusedForward)); times[3].append(try seconds(unfusedBackward))
        }
        let float = MemoryLayout<Float>.size
        let fusedScratch = device.fusedAttentionScratchCount(shape)
        return (
            AttentionTiming(
                kernel: "fused", forwardSeconds: median(times[0]), backwardSeconds: median(times[1]),
                storedBytes: shape.statisticsCount * float, scratchBytes: fusedScratch * float),
            AttentionTiming(
                kernel: "unfused", forwardSeconds: median(times[2]), backwardSeconds: median(times[3]),
                storedBytes: shape.scoresCount * float, scratchBytes: 2 * shape.scoresCount * float),
            largest > 0 ? worst / largest : worst
        )
    }
}
