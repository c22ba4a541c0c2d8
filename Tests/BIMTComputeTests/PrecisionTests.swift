@testable import BIMTCompute
import CBIMTKernels
import Foundation
import Testing
import TestSupport

/// The value of a bfloat16 word, exactly (bf16 is the top half of an fp32).
func bf16Value(_ word: UInt16) -> Float { Float(bitPattern: UInt32(word) << 16) }

@Suite("bf16 rounding")
struct BF16RoundingTests {
    /// Independent of the C code: the two bf16 neighbours of x, and the nearer (ties to the
    /// even mantissa), found by truncating and stepping one unit up.
    static func nearest(_ x: Float) -> Float {
        let down = Float(bitPattern: x.bitPattern & 0xffff_0000)
        let up = Float(bitPattern: (x.bitPattern & 0xffff_0000) &+ 0x1_0000)
        let below = abs(Double(x) - Double(down)), above = abs(Double(up) - Double(x))
        if below != above { return below < above ? down : up }
        return (down.bitPattern >> 16) & 1 == 0 ? down : up
    }

    @Test("round to nearest, ties to even, against a neighbour search")
    func nearestEven() {
        var generator = SeededGenerator(seed: 11)
        var values: [Float] = [0, -0, 1, -1, 1 + 1.0 / 256, 1 + 3.0 / 256, 1 + 1.0 / 512, 1 + 3.0 / 512, 3.14159265]
        values += [Float.leastNormalMagnitude, Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude / 2]
        values += generator.uniform(2000).map { $0 * 1000 }
        // Ties: the 16 dropped bits exactly 0x8000.
        values += (0..<64).map { Float(bitPattern: 0x3f80_8000 &+ (UInt32($0) << 16)) }
        for x in values where x.isFinite && abs(x) < Float.greatestFiniteMagnitude / 2 {
            #expect(bimt_bf16_round(x) == Self.nearest(x), "\(x)")
        }
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even is 1. 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
        #expect(bimt_bf16_round(1 + 1.0 / 256) == 1)
        #expect(bimt_bf16_round(1 + 3.0 / 256) == 1 + 1.0 / 64)
    }

    @Test("infinities stay, NaN stays NaN, the largest floats round to infinity")
    func specials() {
        #expect(bimt_bf16_round(.infinity) == .infinity)
        #expect(bimt_bf16_round(-.infinity) == -.infinity)
        #expect(bimt_bf16_round(.nan).isNaN)
        // A NaN whose payload sits in the dropped bits only would truncate to infinity.
        #expect(bimt_bf16_round(Float(bitPattern: 0x7f80_0001)).isNaN)
        #expect(bimt_bf16_round(Float.greatestFiniteMagnitude) == .infinity)
    }

    @Test("rows with a leading dimension pack densely, as the scalar rounding")
    func packRows() {
        var generator = SeededGenerator(seed: 3)
        let rows = 37, columns = 53, ld = 61, batch = 3, stride = rows * ld + 5
        let x = generator.uniform(batch * stride)
        var words = [UInt16](repeating: 0, count: batch * rows * columns)
        x.withUnsafeBufferPointer { x in
            words.withUnsafeMutableBufferPointer { w in
                CPUBackend.packBF16(
                    x.baseAddress!, rows: rows, columns: columns, ld: ld, batch: batch, stride: stride,
                    into: w.baseAddress!)
            }
        }
        for e in 0..<batch {
            for r in 0..<rows {
                for c in 0..<columns {
                    let w = words[(e * rows + r) * columns + c], v = x[e * stride + r * ld + c]
                    #expect(bf16Value(w) == bimt_bf16_round(v), "\(e) \(r) \(c)")
                }
            }
        }
    }
}

@Suite("bf16 and attention")
struct BF16AttentionTests {
    @Test("fused attention gives the same bits at either precision (it computes in fp32)")
    func attentionStaysFP32() throws {
        let shape = AttentionShape(sequences: 2, length: 70, heads: 2, headDimension: 8)
        var generator = SeededGenerator(seed: 4)
        let qkv = generator.uniform(shape.sequences * shape.length * 3 * shape.width)
        for device in try BF16GemmTests.devices() {
            func outputs() throws -> [Float] {
                let input = try device.makeBuffer(qkv)
                let output = try device.makeBuffer(count: shape.sequences * shape.length * shape.width)
                let lse = try device.makeBuffer(count: shape.statisticsCount)
                try device.causalAttentionForward(shape, qkv: input.whole, output: output.whole, logSumExp: lse.whole)
                return try device.read(output.whole)
            }
            let bf16 = try outputs()
            try device.setMatrixPrecision(.fp32)
            #expect(try outputs() == bf16, "fused attention on \(device.name)")
        }
    }
}

@Suite("bf16 GEMM")
struct BF16GemmTests {
    /// Products whose operands are bf16 values are exact in double; C accumulates them in fp32.
    /// A bf16 GEMM must equal the double-precision product of the bf16-rounded operands up to
    /// fp32 accumulation (K * 2^-24 relative, bounded here by 1e-5 * sqrt-ish slack), and must
    /// differ from the fp32 product by about 2^-9 relative (it rounds, it does not truncate).
    @Test(
        "every transpose, batches, broadcast B, strided C, alpha and beta, against bf16-rounded double",
        arguments: transposeCases.map { [$0.0, $0.1] })
    func matchesRoundedReference(transposes: [Bool]) throws {
        for device in try Self.devices() { try Self.matchesRoundedReference(device, transposes: transposes) }
    }

    /// The devices with bf16 products: the CPU path where it has them, and the OpenCL device
    /// (gemm_tiled_bf16 on any device type).
    static func devices() throws -> [Device] {
        var devices = [try TestDevices.bf16CPU()].compactMap { $0 }
        if TestDevices.runOpenCLTests {
            let device = try TestDevices.openCL()
            try device.setMatrixPrecision(.bf16)
            devices.append(device)
        }
        return devices
    }

    static func matchesRoundedReference(_ device: Device, transposes: [Bool]) throws {
        let (ta, tb) = (transposes[0], transposes[1])
        let operations = [
            GemmOperation(m: 129, n: 257, k: 33, transposeA: ta, transposeB: tb),
            GemmOperation(m: 7, n: 1000, k: 129, transposeA: ta, transposeB: tb, alpha: 0.5, beta: 1),
            GemmOperation(
                m: 33, n: 64, k: 257, transposeA: ta, transposeB: tb, beta: 0.25, ldc: 80, batchCount: 3,
                strideB: 0, strideC: 33 * 80 + 16),
            GemmOperation(m: 1, n: 1, k: 1000, transposeA: ta, transposeB: tb),
            // Leading dimensions wider than the rows, and one A for every batch entry.
            GemmOperation(
                m: 17, n: 23, k: 40, transposeA: ta, transposeB: tb, lda: 50, ldb: 45, ldc: 30, batchCount: 2,
                strideA: 0, strideC: 17 * 30),
        ]
        for (index, op) in operations.enumerated() {
            let (result, a, b, c) = try runGemm(device, op, seed: UInt64(40 + index))
            let rounded = referenceGemm(op, a: a.map(bimt_bf16_round), b: b.map(bimt_bf16_round), c: c)
            expectClose(result, rounded, tolerance: 2e-5, "bf16 \(op.summary) on \(device.name)")
            // fp32 operands give another answer: bf16 rounding happened.
            let exact = referenceGemm(op, a: a, b: b, c: c)
            let largest = zip(result, exact).map { abs(Double($0) - $1) }.max()!
            if op.k > 1 { #expect(largest > 1e-4, "\(op.summary) on \(device.name): no bf16 rounding seen") }
        }
    }

    @Test("a primitive is made once per shape and reused; the fp32 setting goes back to fp32 products")
    func switchBack() throws {
        guard let device = try TestDevices.bf16CPU(), case let .success(dnnl) = OneDNN.shared else { return }
        let op = GemmOperation(m: 64, n: 48, k: 97)
        let first = try runGemm(device, op, seed: 1).0
        let made = dnnl.primitiveCount
        let second = try runGemm(device, op, seed: 1).0
        #expect(first == second)
        #expect(dnnl.primitiveCount <= made, "a second product of the same shape made another primitive")
        try device.setMatrixPrecision(.fp32)
        let (result, a, b, c) = try runGemm(device, op, seed: 1)
        expectClose(result, referenceGemm(op, a: a, b: b, c: c), tolerance: 1e-5, "fp32 after bf16")
        #expect(device.matrixPrecision == .fp32)
    }

    @Test("NaN and infinity in an operand reach C; with beta 0 a NaN already in C is not read")
    func specialValues() throws {
        for device in try Self.devices() {
            let op = GemmOperation(m: 4, n: 3, k: 5)
            var a = [Float](repeating: 1, count: 20), b = [Float](repeating: 0.5, count: 15)
            a[0] = .nan
            b[1] = .infinity
            let da = try device.makeBuffer(a), db = try device.makeBuffer(b)
            let dc = try device.makeBuffer([Float](repeating: .nan, count: 12))
            try device.gemm(op, a: da.whole, b: db.whole, c: dc.whole)
            let c = try device.read(dc.whole)
            #expect(c[0].isNaN && c[1].isNaN, "row 0 reads the NaN on \(device.name)")
            #expect(c[4] == .infinity && c[5] == 2.5 && c[11] == 2.5, "\(c) on \(device.name)")
        }
    }

    @Test("auto, fp32 and bf16 resolve against what the device offers")
    func choice() throws {
        let cpu = Device.cpu(), support = cpu.bf16Support
        #expect(try cpu.choosePrecision(.fp32).precision == .fp32)
        let auto = try cpu.choosePrecision(.auto)
        #expect(auto.precision == (support.available && support.native ? .bf16 : .fp32))
        #expect(auto.explanation.contains(support.reason))
        // Independently of that logic: where tests must use the real components, a processor with
        // AVX512-BF16 (this project's machines) has native bf16 through oneDNN, and auto takes it.
        if requireRealComponents && CPUFeatures.processorFlags.contains("avx512_bf16") {
            #expect(auto.precision == .bf16, "\(auto.explanation)")
        }
        if support.available {
            #expect(try cpu.choosePrecision(.bf16).precision == .bf16)
        } else {
            #expect(throws: ComputeError.self) { try cpu.choosePrecision(.bf16) }
        }
    }

    @Test("OpenCL: bf16 operands on every device, never chosen by auto without matrix units; split-K too")
    func openCL() throws {
        guard TestDevices.runOpenCLTests else { return }
        let device = try TestDevices.openCL()
        #expect(device.bf16Support.available && !device.bf16Support.native)
        #expect(try device.choosePrecision(.auto).precision == .fp32)
        try device.setMatrixPrecision(.bf16)
        // Deep and narrow: gemm_tiled splits K over the compute units, then sums the parts.
        let op = GemmOperation(m: 16, n: 16, k: 4096, transposeA: true, beta: 0.5)
        let backend = try #require(device.backend as? OpenCLBackend)
        #expect(
            backend.tuning.kSplits(m: 16, n: 16, k: 4096, batch: 1, computeUnits: backend.device.computeUnits).splits
                > 1, "the product is not split over K")
        let (result, a, b, c) = try runGemm(device, op, seed: 7)
        let rounded = referenceGemm(op, a: a.map(bimt_bf16_round), b: b.map(bimt_bf16_round), c: c)
        expectClose(result, rounded, tolerance: 2e-5, "split-K bf16")
    }

}
