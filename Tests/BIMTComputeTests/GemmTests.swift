@testable import BIMTCompute
import CBIMTKernels
import Foundation
import Testing
import TestSupport

/// Shapes (M, N, K) built from the sizes 1, 7, 33, 129, 257, 1000: none a multiple of any tile.
let gemmShapes: [(Int, Int, Int)] = [
    (1, 1, 1), (7, 33, 129), (33, 7, 257), (129, 257, 33), (257, 129, 7), (1000, 7, 33), (7, 1000, 129),
    (33, 1, 1000), (1, 257, 7),
]
let transposeCases: [(Bool, Bool)] = [(false, false), (false, true), (true, false), (true, true)]

/// Runs one GEMM on `device` with C pre-filled, returning (result, a, b, c-before).
func runGemm(_ device: Device, _ op: GemmOperation, seed: UInt64) throws -> ([Float], [Float], [Float], [Float]) {
    var generator = SeededGenerator(seed: seed)
    let aCount = (op.batchCount - 1) * op.strideA + (op.transposeA ? op.k : op.m) * op.lda
    let bCount = (op.batchCount - 1) * op.strideB + (op.transposeB ? op.n : op.k) * op.ldb
    let cCount = (op.batchCount - 1) * op.strideC + op.m * op.ldc
    let a = generator.uniform(aCount), b = generator.uniform(bCount), c = generator.uniform(cCount)
    let da = try device.makeBuffer(a), db = try device.makeBuffer(b), dc = try device.makeBuffer(c)
    try device.gemm(op, a: da.whole, b: db.whole, c: dc.whole)
    return (try device.read(dc.whole), a, b, c)
}

/// `BIMT_GEMM_VARIANT` puts the GPU's tiled kernel through every path on a CPU-type device:
/// `scripts/test` runs the training suites once more with it set to `tiled`.
/// gemm_tiled's local tiles are padded (LPAD) so that a warp's stores of one load along k
/// fall in distinct banks of a 32-bank local memory: the kernel's `place` indexing, replayed.
/// This checks the padding rule, not the kernel: a change to `place` must be mirrored here
/// (the tiled GEMM tests check the kernel's results; only a GPU run shows the speed).
@Suite("GEMM local tile padding")
struct GemmLocalPaddingTests {
    /// The most work-items of one 32-wide warp that store into one bank, for tile rows of `T`
    /// floats padded by `pad`, over every element j of the GVW-wide load.
    static func worstConflict(T: Int, tsk: Int, gvw: Int, pad: Int) -> Int {
        (0..<gvw).map { j in
            var perBank = [Int](repeating: 0, count: 32)
            for e in 0..<32 {
                let t = e / (tsk / gvw), k = (e % (tsk / gvw)) * gvw
                perBank[((k + j) * (T + pad) + t) % 32] += 1
            }
            return perBank.max()!
        }.max()!
    }

    @Test("no bank conflicts for TSK 8 to 32 and every load width; without padding there were")
    func padding() {
        for tsk in [8, 16, 32] {
            for gvw in [1, 2, 4, 8] where tsk % gvw == 0 {
                var tuning = GemmTuning()
                tuning.tsk = tsk
                tuning.gvw = gvw
                for T in [32, 64, 128] {
                    #expect(
                        Self.worstConflict(T: T, tsk: tsk, gvw: gvw, pad: tuning.localPad) == 1, "\(tsk) \(gvw) \(T)")
                }
            }
        }
        // The CPU-device tiles (TSK 16, GVW 4, 64 rows) had 4-way conflicts unpadded.
        #expect(Self.worstConflict(T: 64, tsk: 16, gvw: 4, pad: 0) == 4)
        #expect(GemmTuning().defines.contains("-DLPAD=\(GemmTuning().localPad)"))
    }
}

/// The tiled kernel's default shape per device class.
@Suite("GEMM defaults per device")
struct GemmDefaultsTests {
    static func device(type: String, workGroup: Int, localBytes: Int) -> OpenCLDeviceDescription {
        OpenCLDeviceDescription(
            platformIndex: 0, deviceIndex: 0, platformName: "test", platformVersion: "OpenCL 3.0", name: "test",
            vendor: "test", type: type, deviceVersion: "OpenCL 3.0", driverVersion: "1", openCLCVersion: "1.2",
            computeUnits: 132, clockMHz: 1000, globalMemoryBytes: 1 << 34, maxAllocationBytes: 1 << 32,
            localMemoryBytes: localBytes, maxWorkGroupSize: workGroup, preferredFloatVectorWidth: 1)
    }

    static func shape(_ values: Int...) -> [Int] { values }

    @Test("a GPU gets 128 x 128 tiles of 8 x 8 per work-item where it can run them; a CPU device 64 x 64 of 4 x 4")
    func registerTiles() {
        let gpu = GemmTuning(defaultsFor: Self.device(type: "GPU", workGroup: 1024, localBytes: 49152))
        #expect(Self.shape(gpu.tsm, gpu.tsn, gpu.wptm, gpu.wptn) == [128, 128, 8, 8])
        #expect(gpu.problem(for: .tiled, on: Self.device(type: "GPU", workGroup: 1024, localBytes: 49152)) == nil)
        // Too little local memory or too small a work-group: the smaller tiles.
        let small = GemmTuning(defaultsFor: Self.device(type: "GPU", workGroup: 1024, localBytes: 32768))
        #expect(Self.shape(small.tsm, small.wptm) == [64, 4])
        let narrow = GemmTuning(defaultsFor: Self.device(type: "GPU", workGroup: 128, localBytes: 49152))
        #expect(Self.shape(narrow.tsm, narrow.wptm) == [32, 4])
        let cpu = GemmTuning(defaultsFor: Self.device(type: "CPU", workGroup: 4096, localBytes: 1 << 20))
        #expect(Self.shape(cpu.tsm, cpu.tsn, cpu.wptm, cpu.wptn) == [64, 64, 4, 4])
    }
}

@Suite("GEMM variant from the environment")
struct GemmVariantEnvironmentTests {
    @Test("BIMT_GEMM_VARIANT replaces automatic, never an explicit choice; a bad value is refused")
    func resolution() throws {
        let tiled = ["BIMT_GEMM_VARIANT": "tiled"]
        #expect(try GemmVariant.automatic.resolved(deviceType: "CPU", environment: tiled) == .tiled)
        #expect(try GemmVariant.vector.resolved(deviceType: "CPU", environment: tiled) == .vector)
        #expect(try GemmVariant.automatic.resolved(deviceType: "CPU", environment: [:]) == .vector)
        #expect(try GemmVariant.automatic.resolved(deviceType: "GPU", environment: ["BIMT_GEMM_VARIANT": ""]) == .tiled)
        do {
            _ = try GemmVariant.automatic.resolved(deviceType: "CPU", environment: ["BIMT_GEMM_VARIANT": "fast"])
            Issue.record("a bad BIMT_GEMM_VARIANT was accepted")
        } catch let ComputeError.invalidArgument(text) {
            #expect(text.contains("BIMT_GEMM_VARIANT=fast") && text.contains("tiled or vector"))
        }
    }

    @Test("the OpenCL test device runs the variant BIMT_GEMM_VARIANT names", requiresOpenCL)
    func testDevice() throws {
        let device = try TestDevices.openCL()
        let description = try #require(device.openCLDescription)
        let named = ProcessInfo.processInfo.environment["BIMT_GEMM_VARIANT"].flatMap(GemmVariant.init(rawValue:))
        let expected = (named ?? .automatic).resolved(deviceType: description.type)
        #expect(device.gemmVariant == expected)
    }
}

@Suite("GEMM")
struct GemmTests {
    @Test("CPU path matches a double-precision reference", arguments: transposeCases)
    func cpuMatchesReference(transposes: (Bool, Bool)) throws {
        let device = TestDevices.cpu()
        for (index, (m, n, k)) in gemmShapes.enumerated() {
            for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.75), Float(1.5))] {
                let op = GemmOperation(
                    m: m, n: n, k: k, transposeA: transposes.0, transposeB: transposes.1,
                    alpha: alpha, beta: beta)
                let (result, a, b, c) = try runGemm(device, op, seed: UInt64(index))
                expectClose(
                    result, referenceGemm(op, a: a, b: b, c: c), tolerance: 1e-5,
                    "cpu \(op.summary) alpha \(alpha) beta \(beta)", columns: n)
            }
        }
    }

    @Test(
        "OpenCL matches the CPU path (both variants)",
        requiresOpenCL,
        arguments: [GemmVariant.tiled, .vector], transposeCases)
    func openCLMatchesCPU(variant: GemmVariant, transposes: (Bool, Bool)) throws {
        let device = try TestDevices.openCL(variant), cpu = TestDevices.cpu()
        // The last two reach gemm_vector's packed panels: B with ldb >= 1024, a transposed A with
        // lda >= 1024 (K >= 256).
        for (index, (m, n, k)) in (gemmShapes + [(257, 1000, 129), (129, 33, 1000), (33, 1030, 300), (1030, 7, 260)])
            .enumerated()
        {
            let op = GemmOperation(
                m: m, n: n, k: k, transposeA: transposes.0, transposeB: transposes.1,
                alpha: 1.25, beta: -0.5)
            let (result, _, _, _) = try runGemm(device, op, seed: UInt64(100 + index))
            let (expected, _, _, _) = try runGemm(cpu, op, seed: UInt64(100 + index))
            expectClose(result, expected, tolerance: 1e-5, "\(variant) \(op.summary)", columns: n)
        }
    }

    /// gemm_tiled's settings: vector loads of 1, 2, 4 and 8 floats, one or two local buffers,
    /// split-K off and on (PoCL has 2 compute units, so shapes of one or two tiles with K >= 4
    /// tiles are split), square and oblong tiles, 4x4, 2x8 and 8x8 register tiles.
    static let tiledCases: [[String: Int]] = [
        [:],
        ["GVW": 1, "DB": 0, "KSPLIT": 1],
        ["TSM": 128, "TSN": 128, "WPTM": 8, "WPTN": 8], // a GPU's defaults
        ["TSM": 128, "TSN": 128, "TSK": 16, "WPTM": 8, "WPTN": 8, "GVW": 8, "DB": 1, "KSPLIT": 16],
        ["TSM": 32, "TSN": 64, "TSK": 8, "WPTM": 2, "WPTN": 8, "GVW": 2, "DB": 0, "KSPLIT": 3],
    ]

    @Test(
        """
        gemm_tiled matches the CPU path with every kind of setting: \
        vector loads, double buffering, split-K, tile shapes
        """,
        requiresOpenCL, arguments: tiledCases)
    func tiledSettings(settings: [String: Int]) throws {
        let device = try Device.open(.anyOpenCL, gemmVariant: .tiled, gemmTuning: settings).device,
            cpu = TestDevices.cpu()
        for (ta, tb) in transposeCases {
            for (index, (m, n, k)) in [
                (7, 33, 129), (33, 7, 1000), (129, 257, 33), (1, 257, 600), (70, 65, 1025), (257, 129, 7),
            ].enumerated() {
                let op = GemmOperation(m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: 1.25, beta: -0.5)
                let (result, _, _, _) = try runGemm(device, op, seed: UInt64(300 + index))
                let (expected, _, _, _) = try runGemm(cpu, op, seed: UInt64(300 + index))
                expectClose(result, expected, tolerance: 1e-5, "\(settings) \(op.summary)", columns: n)
            }
            // Batched, padded, and split: each batch's partial products stay apart.
            let op = GemmOperation(
                m: 9, n: 11, k: 700, transposeA: ta, transposeB: tb, alpha: 0.5, beta: 2,
                lda: (ta ? 9 : 700) + 3, ldb: (tb ? 700 : 11) + 1, ldc: 13, batchCount: 3,
                strideA: (ta ? 700 * 12 : 9 * 703) + 5, strideB: (tb ? 11 * 701 : 700 * 12) + 2, strideC: 9 * 13 + 4)
            let (result, a, b, c) = try runGemm(device, op, seed: 9)
            expectClose(
                result, referenceGemm(op, a: a, b: b, c: c), tolerance: 1e-5, "\(settings) batched \(op.summary)")
        }
    }

    /// gemm_vector's k blocks: a product deeper than KC goes in launches of KC steps, each
    /// adding into C. KC = 300 keeps each block deep enough to pack operands with leading
    /// dimensions past 1024; KC = 64 leaves a short last block (1000 = 15 * 64 + 40).
    @Test(
        "gemm_vector in k blocks matches the CPU path, beta applied once and C never read at beta = 0",
        requiresOpenCL, arguments: [64, 300])
    func vectorKBlocks(depth: Int) throws {
        let device = try Device.open(.anyOpenCL, gemmVariant: .vector, gemmTuning: ["KC": depth]).device,
            cpu = TestDevices.cpu()
        for (ta, tb) in transposeCases {
            for (index, (m, n, k)) in [(7, 33, 1000), (33, 1030, 700), (1030, 7, 301), (5, 9, 64)].enumerated() {
                let op = GemmOperation(m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: 1.25, beta: -0.5)
                let (result, _, _, _) = try runGemm(device, op, seed: UInt64(500 + index))
                let (expected, _, _, _) = try runGemm(cpu, op, seed: UInt64(500 + index))
                expectClose(result, expected, tolerance: 1e-5, "KC \(depth) \(op.summary)", columns: n)
            }
            let op = GemmOperation(m: 9, n: 35, k: 700, transposeA: ta, transposeB: tb)
            let a = try device.makeBuffer([Float](repeating: 1, count: 9 * 700))
            let b = try device.makeBuffer([Float](repeating: 0.5, count: 35 * 700))
            let c = try device.makeBuffer([Float](repeating: .nan, count: 9 * 35))
            try device.gemm(op, a: a.whole, b: b.whole, c: c.whole)
            #expect(try device.read(c.whole).allSatisfy { $0 == 350 }, "KC \(depth) beta = 0 \(op.summary)")
        }
    }

    /// The CPU path's own kernel for tall products with a small B (bimt_gemm_rows): 64-, 32-
    /// and 16-column blocks and scalar columns (N = 100 = 64 + 32 + 4), row blocks cut short
    /// (M = 257 = 42 * 6 + 5 over two bands), padded leading dimensions, B transposed or not.
    @Test(
        "CPU path: tall products with a small B match a double-precision reference",
        arguments: [(257, 100, 9), (300, 16, 1), (263, 288, 64), (256, 64, 300), (1000, 320, 40)])
    func cpuRowKernel(shape: (Int, Int, Int)) throws {
        let device = TestDevices.cpu(), (m, n, k) = shape
        for transposeB in [false, true] {
            for (alpha, beta) in [(Float(1), Float(0)), (Float(-0.75), Float(1.5))] {
                let op = GemmOperation(
                    m: m, n: n, k: k, transposeB: transposeB, alpha: alpha, beta: beta,
                    lda: k + 3, ldb: (transposeB ? k : n) + 2, ldc: n + 5)
                #expect(!CPUBackend.rowGemmAvailable || CPUBackend.usesRowGemm(op), "\(op.summary) goes to OpenBLAS")
                let (result, a, b, c) = try runGemm(device, op, seed: UInt64(m + n + k))
                expectClose(
                    result, referenceGemm(op, a: a, b: b, c: c), tolerance: 1e-5,
                    "cpu rows \(op.summary) alpha \(alpha) beta \(beta)", columns: n + 5)
            }
        }
        // beta = 0 never reads C, on the kernel itself whatever this processor runs.
        var generator = SeededGenerator(seed: 3)
        let a = generator.uniform(m * k), b = generator.uniform(k * n)
        var c = [Float](repeating: .nan, count: m * n)
        bimt_gemm_rows(Int32(m), Int32(n), Int32(k), 1, 0, a, Int32(k), b, Int32(n), &c, Int32(n))
        let op = GemmOperation(m: m, n: n, k: k)
        expectClose(
            c, referenceGemm(op, a: a, b: b, c: [Float](repeating: 0, count: m * n)), tolerance: 1e-5,
            "bimt_gemm_rows \(op.summary), C all NaN before", columns: n)
    }

    @Test("split-K engages only when the tiles would leave compute units idle and K is deep")
    func splitKChoice() throws {
        let t = GemmTuning().applying(["TSM": 64, "TSN": 64, "TSK": 16, "KSPLIT": 8])
        #expect(t.kSplits(m: 4096, n: 4096, k: 4096, batch: 1, computeUnits: 132).splits == 1) // 4096 tiles
        // 256 tiles for 264 wanted
        let (splits, chunk) = t.kSplits(m: 1024, n: 1024, k: 1024, batch: 1, computeUnits: 132)
        #expect(splits == 2 && chunk == 512)
        #expect(t.kSplits(m: 1024, n: 1024, k: 1024, batch: 2, computeUnits: 132).splits == 1) // 512 tiles
        let small = t.kSplits(m: 256, n: 256, k: 4096, batch: 1, computeUnits: 132) // 16 tiles
        #expect(small.splits == 8 && small.chunk == 512)
        #expect(t.kSplits(m: 64, n: 64, k: 100, batch: 1, computeUnits: 132).splits == 1) // K too shallow
        let uneven = t.kSplits(m: 64, n: 64, k: 1000, batch: 1, computeUnits: 4) // 8 wanted, 1 tile
        #expect(
            uneven.chunk % 16 == 0 && (uneven.splits - 1) * uneven.chunk < 1000 && uneven.splits * uneven.chunk >= 1000)
    }

    @Test("strided-batched GEMM with padded leading dimensions", arguments: [false, true])
    func batched(openCL: Bool) throws {
        if openCL && !TestDevices.runOpenCLTests {
            Issue.record("no OpenCL device on this machine: the OpenCL case did not run", severity: .warning)
            return
        }
        let devices = openCL ? [try TestDevices.openCL(.tiled), try TestDevices.openCL(.vector)] : [TestDevices.cpu()]
        for device in devices {
            // The second shape is deep with leading dimensions past 1024: gemm_vector packs
            // both operands (each batch's panels apart, K not a multiple of a packing chunk).
            for (ta, tb) in transposeCases {
                for (m, n, k, padA, padB) in [(13, 37, 21, 3, 5), (7, 70, 260, 1030 - 7, 1030 - 70)] {
                    let lda = (ta ? m : k) + padA, ldb = (tb ? k : n) + padB, ldc = n + 2
                    let op = GemmOperation(
                        m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: 0.5, beta: 2,
                        lda: lda, ldb: ldb, ldc: ldc, batchCount: 4,
                        strideA: (ta ? k : m) * lda + 7, strideB: (tb ? n : k) * ldb + 1,
                        strideC: m * ldc + 3)
                    let (result, a, b, c) = try runGemm(device, op, seed: 7)
                    expectClose(
                        result, referenceGemm(op, a: a, b: b, c: c), tolerance: 1e-5,
                        "\(device.name) \(op.summary)")
                }
            }
        }
    }

    @Test(
        "beta = 0 never reads C (NaN in C does not leak)",
        arguments: [GemmVariant.automatic, .tiled, .vector])
    func betaZeroIgnoresC(variant: GemmVariant) throws {
        let device = variant == .automatic ? TestDevices.cpu() : try TestDevices.openCL(variant)
        let op = GemmOperation(m: 9, n: 35, k: 4)
        let a = try device.makeBuffer([Float](repeating: 1, count: 36))
        let b = try device.makeBuffer([Float](repeating: 2, count: 140))
        let c = try device.makeBuffer([Float](repeating: .nan, count: 315))
        try device.gemm(op, a: a.whole, b: b.whole, c: c.whole)
        #expect(try device.read(c.whole).allSatisfy { $0 == 8 })
    }

    @Test("bad shapes are thrown errors naming both shapes")
    func badShapes() throws {
        let device = TestDevices.cpu()
        let small = try device.makeBuffer(count: 10), big = try device.makeBuffer(count: 100)
        #expect(throws: ComputeError.self) {
            try device.gemm(GemmOperation(m: 0, n: 3, k: 3), a: big.whole, b: big.whole, c: big.whole)
        }
        do {
            try device.gemm(GemmOperation(m: 5, n: 5, k: 5), a: small.whole, b: big.whole, c: big.whole)
            Issue.record("expected a shape mismatch")
        } catch let error as ComputeError {
            #expect(error.description.contains("5 x 5"))
            #expect(error.description.contains("holds 10"))
        }
        #expect(throws: ComputeError.self) {
            try device.gemm(GemmOperation(m: 5, n: 5, k: 5, lda: 3), a: big.whole, b: big.whole, c: big.whole)
        }
        let other = try Device.cpu().makeBuffer(count: 100)
        #expect(throws: ComputeError.self) {
            try device.gemm(GemmOperation(m: 5, n: 5, k: 5), a: other.whole, b: big.whole, c: big.whole)
        }
    }
}
