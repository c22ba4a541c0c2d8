@testable import BIMTCompute
import Foundation
import Testing
import TestSupport

/// dropout.cl's keep test for element `index` (the formula its header states).
func referenceKeep(key: UInt64, index: UInt64, rate: Float) -> Bool {
    var z = key &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return UInt32(truncatingIfNeeded: z >> 40) >= UInt32(Double(rate) * 16_777_216)
}

/// Double-precision causal attention over packed qkv rows, straight from the definition:
/// the output and, for an output gradient g, the qkv gradient.
func referenceAttention(_ shape: AttentionShape, qkv: [Float], outputGradient g: [Float], rate: Float, key: UInt64)
    -> (output: [Double], qkvGradient: [Double])
{
    let (length, hd, d) = (shape.length, shape.headDimension, shape.width), ld = 3 * d
    let scale = 1 / Double(hd).squareRoot()
    var output = [Double](repeating: 0, count: shape.rows * d), dqkv = [Double](repeating: 0, count: shape.rows * ld)
    func x(_ row: Int, _ column: Int) -> Double { Double(qkv[row * ld + column]) }
    for sequence in 0..<shape.sequences {
        for head in 0..<shape.heads {
            let pair = sequence * shape.heads + head, r0 = sequence * length
            let (qc, kc, vc) = (head * hd, d + head * hd, 2 * d + head * hd)
            for i in 0..<length {
                let scores = (0...i).map { j in
                    scale * (0..<hd).reduce(0.0) { $0 + x(r0 + i, qc + $1) * x(r0 + j, kc + $1) }
                }
                let largest = scores.max()!, total = scores.reduce(0.0) { $0 + exp($1 - largest) }
                let p = scores.map { exp($0 - largest) / total }
                let mask = (0...i).map { j in
                    rate == 0
                        ? 1.0
                        : referenceKeep(key: key, index: UInt64((pair * length + i) * length + j), rate: rate)
                            ? 1 / (1 - Double(rate)) : 0
                }
                for j in 0...i {
                    for c in 0..<hd { output[(r0 + i) * d + head * hd + c] += p[j] * mask[j] * x(r0 + j, vc + c) }
                }
                // dP_ij = mask * (dO_i . v_j); dS = P (dP - sum_k P_ik dP_ik).
                let gi = (0..<hd).map { Double(g[(r0 + i) * d + head * hd + $0]) }
                let dp = (0...i).map { j in mask[j] * (0..<hd).reduce(0.0) { $0 + gi[$1] * x(r0 + j, vc + $1) } }
                let mean = zip(p, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                for j in 0...i {
                    let ds = p[j] * (dp[j] - mean)
                    for c in 0..<hd {
                        dqkv[(r0 + i) * ld + qc + c] += scale * ds * x(r0 + j, kc + c)
                        dqkv[(r0 + j) * ld + kc + c] += scale * ds * x(r0 + i, qc + c)
                        dqkv[(r0 + j) * ld + vc + c] += p[j] * mask[j] * gi[c]
                    }
                }
            }
        }
    }
    return (output, dqkv)
}

@Suite("Fused causal attention")
struct AttentionTests {
    /// The devices, the OpenCL one twice: with the single-launch kernels and with the blocked path.
    func attentionDevices() throws -> [(Device, OpenCLAttentionKernels)] {
        try opDevices().flatMap { device in
            device.backend is OpenCLBackend ? [(device, .single), (device, .blocked)] : [(device, .single)]
        }
    }

    /// Lengths around the CPU path's 64-row blocks and the OpenCL kernels' 32-row tiles; head
    /// dimensions odd and even, up to the single-launch kernels' 64, and one past it (72: the
    /// blocked OpenCL path).
    static let shapes = [
        AttentionShape(sequences: 2, length: 5, heads: 2, headDimension: 3),
        AttentionShape(sequences: 1, length: 70, heads: 3, headDimension: 8),
        AttentionShape(sequences: 2, length: 130, heads: 2, headDimension: 16),
        AttentionShape(sequences: 1, length: 97, heads: 2, headDimension: 64),
        AttentionShape(sequences: 2, length: 33, heads: 1, headDimension: 72),
    ]

    @Test(
        "forward and backward match the double-precision definition, with and without dropout",
        arguments: shapes, [Float(0), 0.3])
    func matchesReference(shape: AttentionShape, rate: Float) throws {
        var generator = SeededGenerator(seed: UInt64(shape.length * 31 + shape.heads))
        let qkv = generator.uniform(shape.rows * 3 * shape.width, -1.5, 1.5),
            g = generator.uniform(shape.rows * shape.width)
        let key: UInt64 = 0xDEAD_BEEF_1234_5678
        let expected = referenceAttention(shape, qkv: qkv, outputGradient: g, rate: rate, key: key)
        for (device, kernels) in try attentionDevices() {
            (device.backend as? OpenCLBackend)?.attentionKernels = kernels
            let bqkv = try device.makeBuffer(qkv), out = try device.makeBuffer(count: shape.rows * shape.width)
            let lse = try device.makeBuffer(count: shape.statisticsCount)
            try device.causalAttentionForward(
                shape, qkv: bqkv.whole, output: out.whole, logSumExp: lse.whole,
                dropoutRate: rate, dropoutKey: key)
            expectClose(
                try device.read(out.whole), expected.output, tolerance: 2e-5,
                "\(device.name) \(kernels) \(shape) output",
                columns: shape.width)
            // Stale values in the gradient must not leak into the result (it is set, not added).
            let dqkv = try device.makeBuffer([Float](repeating: .nan, count: qkv.count))
            try device.causalAttentionBackward(
                shape, qkv: bqkv.whole, output: out.whole, outputGradient: try device.makeBuffer(g).whole,
                logSumExp: lse.whole, qkvGradient: dqkv.whole, dropoutRate: rate, dropoutKey: key)
            expectClose(
                try device.read(dqkv.whole), expected.qkvGradient, tolerance: 2e-5,
                "\(device.name) \(kernels) \(shape) qkv gradient",
                columns: 3 * shape.width)
            // The unfused path (its reference in training) agrees with the same definition.
            let scores = try (0..<3).map { _ in try device.makeBuffer(count: shape.scoresCount) }
            try device.unfusedCausalAttentionForward(
                shape, qkv: bqkv.whole, output: out.whole, probabilities: scores[0].whole,
                scratch: scores[1].whole, dropoutRate: rate, dropoutKey: key)
            expectClose(
                try device.read(out.whole), expected.output, tolerance: 2e-5, "\(device.name) \(shape) unfused output",
                columns: shape.width)
            try device.unfusedCausalAttentionBackward(
                shape, qkv: bqkv.whole, outputGradient: try device.makeBuffer(g).whole,
                probabilities: scores[0].whole, scratch: (scores[1].whole, scores[2].whole),
                qkvGradient: dqkv.whole, dropoutRate: rate, dropoutKey: key)
            expectClose(
                try device.read(dqkv.whole), expected.qkvGradient, tolerance: 2e-5,
                "\(device.name) \(shape) unfused qkv gradient", columns: 3 * shape.width)
        }
    }

    @Test("OpenCL: one launch per layer forward, two backward, where the head fits the tiles")
    func singleLaunch() throws {
        guard TestDevices.runOpenCLTests else { return }
        let device = try TestDevices.openCL()
        let backend = try #require(device.backend as? OpenCLBackend)
        backend.attentionKernels = .single
        for (shape, launches) in [
            (AttentionShape(sequences: 3, length: 100, heads: 4, headDimension: 64), (1, 2)),
            (AttentionShape(sequences: 3, length: 100, heads: 4, headDimension: 65), nil),
        ] {
            let qkv = try device.makeBuffer(count: shape.rows * 3 * shape.width),
                out = try device.makeBuffer(count: shape.rows * shape.width),
                lse = try device.makeBuffer(count: shape.statisticsCount),
                dqkv = try device.makeBuffer(count: shape.rows * 3 * shape.width)
            let problem = backend.singleLaunchAttentionProblem(shape)
            let before = backend.launches
            try device.causalAttentionForward(shape, qkv: qkv.whole, output: out.whole, logSumExp: lse.whole)
            let forward = backend.launches - before
            try device.causalAttentionBackward(
                shape, qkv: qkv.whole, output: out.whole, outputGradient: out.whole, logSumExp: lse.whole,
                qkvGradient: dqkv.whole)
            let backward = backend.launches - before - forward
            if let (f, b) = launches {
                #expect(problem == nil && forward == f && backward == b, "\(shape): \(problem ?? "")")
            } else {
                // The blocked path: GEMMs per head and query block.
                #expect(problem?.contains("head dimension 65") == true && forward >= 4 * shape.heads)
            }
        }
    }

    @Test("OpenCL: the single-launch kernels with work-groups of 64 to 1024", arguments: [32, 256, 1024])
    func singleLaunchGroups(row: Int) throws {
        guard TestDevices.runOpenCLTests else { return }
        let groups = ["group": 16, "pointwise": 64, "row": row, "reduction": 64]
        let device = try Device.open(.anyOpenCL, workGroups: groups).device
        let backend = try #require(device.backend as? OpenCLBackend)
        backend.attentionKernels = .single
        #expect(backend.constants.attentionLocal.value == max(row, 64))
        let shape = AttentionShape(sequences: 2, length: 45, heads: 2, headDimension: 40)
        var generator = SeededGenerator(seed: 5)
        let qkv = generator.uniform(shape.rows * 3 * shape.width, -1.5, 1.5),
            g = generator.uniform(shape.rows * shape.width)
        let expected = referenceAttention(shape, qkv: qkv, outputGradient: g, rate: 0.3, key: 77)
        let bqkv = try device.makeBuffer(qkv), out = try device.makeBuffer(count: shape.rows * shape.width)
        let lse = try device.makeBuffer(count: shape.statisticsCount), dqkv = try device.makeBuffer(count: qkv.count)
        try device.causalAttentionForward(
            shape, qkv: bqkv.whole, output: out.whole, logSumExp: lse.whole, dropoutRate: 0.3, dropoutKey: 77)
        try device.causalAttentionBackward(
            shape, qkv: bqkv.whole, output: out.whole, outputGradient: try device.makeBuffer(g).whole,
            logSumExp: lse.whole, qkvGradient: dqkv.whole, dropoutRate: 0.3, dropoutKey: 77)
        #expect(backend.singleLaunchAttentionProblem(shape) == nil)
        expectClose(try device.read(out.whole), expected.output, tolerance: 2e-5, "row \(row) output")
        expectClose(try device.read(dqkv.whole), expected.qkvGradient, tolerance: 2e-5, "row \(row) qkv gradient")
    }

    @Test("bad shapes, buffers and rates are refused")
    func refusals() throws {
        let device = Device.cpu(), shape = AttentionShape(sequences: 1, length: 4, heads: 2, headDimension: 2)
        let qkv = try device.makeBuffer(count: 48), out = try device.makeBuffer(count: 16),
            lse = try device.makeBuffer(count: 8)
        #expect(throws: ComputeError.self) {
            try device.causalAttentionForward(
                shape, qkv: qkv.whole, output: out.whole, logSumExp: lse.whole, dropoutRate: 1)
        }
        #expect(throws: ComputeError.self) {
            try device.causalAttentionForward(
                AttentionShape(sequences: 1, length: 5, heads: 2, headDimension: 2), qkv: qkv.whole,
                output: out.whole, logSumExp: lse.whole)
        }
        #expect(throws: ComputeError.self) {
            try device.causalAttentionForward(
                shape, qkv: qkv.whole, output: qkv.slice(offset: 0, count: 16), logSumExp: lse.whole)
        }
        #expect(throws: ComputeError.self) {
            try device.causalAttentionBackward(
                shape, qkv: qkv.whole, output: out.whole, outputGradient: out.whole,
                logSumExp: lse.whole, qkvGradient: qkv.whole)
        }
    }
}
