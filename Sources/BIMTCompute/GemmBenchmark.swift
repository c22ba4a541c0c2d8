import Foundation

/// One measured GEMM: the median kernel time over the repeats (after the first build and a
/// warm-up that lasts until the timings settle; each run is launch + synchronize) and the
/// error against a reference.
public struct GemmBenchmarkResult: Sendable, Codable, Equatable {
    /// Rows of C.
    public let m: Int
    /// Columns of C.
    public let n: Int
    /// The inner dimension.
    public let k: Int
    /// Which operands are transposed ("NN", "NT", "TN", "TT").
    public let trans: String
    /// Median seconds per GEMM.
    public let seconds: Double
    /// 2mnk / seconds, in GFLOP/s.
    public let gflops: Double
    /// max |C - C_ref| / max |C_ref|. The reference is the CPU path for an OpenCL device,
    /// and a double-precision dot product over 256 sampled entries for the CPU path.
    public let maxRelError: Double

    enum CodingKeys: String, CodingKey {
        case m, n, k, trans, seconds, gflops
        case maxRelError = "max_rel_error"
    }
}

/// Times `Device.gemm` on random operands of given shapes.
public enum GemmBenchmark {
    /// Times one GEMM shape after a warm-up and reports the median.
    /// `settle: false` warms up with one run only (the tuner's many candidates).
    public static func run(
        device: Device, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
        repeats: Int, seed: UInt64 = 1, settle: Bool = true
    ) throws -> GemmBenchmarkResult {
        guard repeats >= 1 else { throw ComputeError.invalidArgument("repeats must be >= 1, got \(repeats)") }
        var generator = SeededGenerator(seed: seed)
        let hostA = generator.uniform(m * k), hostB = generator.uniform(k * n)
        let operation = GemmOperation(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        let a = try device.makeBuffer(hostA), b = try device.makeBuffer(hostB)
        let c = try device.makeBuffer(count: m * n)
        func timed() throws -> Double {
            try device.seconds { try device.gemm(operation, a: a.whole, b: b.whole, c: c.whole) }
        }
        _ = try timed() // kernel build
        if settle { try Warmup.settle(timed) } else { _ = try timed() }
        let times = try (0..<repeats).map { _ in try timed() }
        let result = try device.read(c.whole)
        let error: Double
        if device.kind.isOpenCL {
            let cpu = Device.cpu()
            let ca = try cpu.makeBuffer(hostA), cb = try cpu.makeBuffer(hostB), cc = try cpu.makeBuffer(count: m * n)
            try cpu.gemm(operation, a: ca.whole, b: cb.whole, c: cc.whole)
            error = maxRelativeError(result, try cpu.read(cc.whole))
        } else {
            error = sampledError(result, hostA, hostB, operation, generator: &generator)
        }
        let seconds = median(times)
        return GemmBenchmarkResult(
            m: m, n: n, k: k, trans: (transposeA ? "T" : "N") + (transposeB ? "T" : "N"),
            seconds: seconds, gflops: 2 * Double(m) * Double(n) * Double(k) / seconds / 1e9,
            maxRelError: error)
    }

    static func sampledError(
        _ c: [Float], _ a: [Float], _ b: [Float], _ op: GemmOperation,
        generator: inout SeededGenerator
    ) -> Double {
        var worst = 0.0, largest = 0.0
        for _ in 0..<256 {
            let i = Int.random(in: 0..<op.m, using: &generator), j = Int.random(in: 0..<op.n, using: &generator)
            var sum = 0.0
            for p in 0..<op.k {
                let av = op.transposeA ? a[p * op.m + i] : a[i * op.k + p]
                let bv = op.transposeB ? b[j * op.k + p] : b[p * op.n + j]
                sum += Double(av) * Double(bv)
            }
            worst = max(worst, abs(Double(c[i * op.n + j]) - sum))
            largest = max(largest, abs(sum))
        }
        return largest > 0 ? worst / largest : worst
    }
}

/// max |x - reference| / max |reference| (the absolute error when the reference is all zero).
public func maxRelativeError(_ x: [Float], _ reference: [Float]) -> Double {
    var worst = 0.0, largest = 0.0
    for (value, expected) in zip(x, reference) {
        worst = max(worst, abs(Double(value) - Double(expected)))
        largest = max(largest, abs(Double(expected)))
    }
    return largest > 0 ? worst / largest : worst
}

/// The median of a non-empty array.
public func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Warm-up that lasts until timings settle (thread pools started, caches and clocks
/// warm): windows of `window` timed runs, until a window's median is within `tolerance`
/// of the previous window's and `minimumSeconds` have passed, or `maximumSeconds` have.
public enum Warmup {
    /// Runs `body` (one timed run, returning its seconds); returns how many runs it took and
    /// whether the timings settled within the time limit.
    @discardableResult
    public static func settle(
        window: Int = 3, tolerance: Double = 0.05, minimumSeconds: Double = 0.25,
        maximumSeconds: Double = 20, _ body: () throws -> Double
    ) rethrows -> (runs: Int, settled: Bool) {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        var previous: Double?, runs = 0
        while true {
            var times: [Double] = []
            for _ in 0..<max(1, window) { times.append(try body()); runs += 1 }
            let current = median(times)
            if let previous, abs(current - previous) <= tolerance * previous, elapsed() >= minimumSeconds {
                return (runs, true)
            }
            if elapsed() >= maximumSeconds { return (runs, false) }
            previous = current
        }
    }
}
