import Foundation

/// One GEMM shape: C (m x n) = op(A) op(B) with inner dimension k.
public struct GemmShape: Sendable, Equatable, CustomStringConvertible {
    /// Rows and columns of C, the inner dimension, and which operands are transposed.
    public var m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool

    /// C (m x n) = op(A) op(B), inner dimension k.
    public init(_ m: Int, _ n: Int, _ k: Int, transposeA: Bool = false, transposeB: Bool = false) {
        (self.m, self.n, self.k, self.transposeA, self.transposeB) = (m, n, k, transposeA, transposeB)
    }

    /// "MxNxK" with an optional ":TT" suffix for the transposes (NN, NT, TN, TT).
    public init?(parsing text: String) {
        let parts = text.uppercased().split(separator: ":")
        let sizes = parts.first.map { $0.split(separator: "X").map { Int($0) } } ?? []
        guard parts.count <= 2, sizes.count == 3, let m = sizes[0], let n = sizes[1], let k = sizes[2], m >= 1, n >= 1,
            k >= 1
        else {
            return nil
        }
        let trans = parts.count == 2 ? String(parts[1]) : "NN"
        guard ["NN", "NT", "TN", "TT"].contains(trans) else { return nil }
        self.init(m, n, k, transposeA: trans.first == "T", transposeB: trans.last == "T")
    }

    /// "MxNxK:TT", as `init(parsing:)` reads it.
    public var description: String { "\(m)x\(n)x\(k):\(transposeA ? "T" : "N")\(transposeB ? "T" : "N")" }
}

/// What `GemmTuner.tune` tried and found.
public struct GemmTuningReport: Sendable {
    /// One candidate: its settings, the geometric mean of GFLOP/s over the shapes (nil when
    /// it failed), and why it failed.
    public struct Trial: Sendable {
        /// Tunable name to value.
        public var values: [String: Int]
        /// Geometric mean of GFLOP/s over the shapes; nil when the candidate failed.
        public var gflops: Double?
        /// Why it failed (wrong result, build error, settings the device cannot run).
        public var failure: String?
    }
    /// Every candidate in the order tried (the device's defaults first).
    public var trials: [Trial]
    /// The winner, verified on every shape; nil when no candidate passed.
    public var winner: GemmTuningStore.Entry?
}

/// Searches gemm.cl's tunables on an OpenCL device: every candidate is built, checked
/// against the CPU path on every shape (max |C - C_cpu| / max |C_cpu| within the tolerance)
/// and timed; the fastest verified one (geometric mean of GFLOP/s) wins. The search is
/// staged: register blocking first (vector: NV x RM; tiled: tile and work per item), then
/// the work-group shape (vector: LX x LY, then the k block KC), or for tiled the tile depth
/// (TSK), the width and buffering of the loads (GVW, DB) and split-K (KSPLIT), each around
/// the best so far; the
/// three fastest and the defaults are then timed twice more and the best median wins.
public enum GemmTuner {
    /// The GEMMs of the training presets (gpt-bench's and gpt-small's projections, forward
    /// and weight gradient; the mnist MLP's first layer) and a square ladder.
    public static let defaultShapes: [GemmShape] = [
        GemmShape(2048, 384, 128, transposeB: true), GemmShape(2048, 128, 512),
        GemmShape(512, 128, 2048, transposeA: true),
        GemmShape(4096, 1152, 384, transposeB: true), GemmShape(4096, 384, 1536),
        GemmShape(1536, 384, 4096, transposeA: true),
        GemmShape(128, 100, 784, transposeB: true),
        GemmShape(256, 256, 256), GemmShape(512, 512, 512), GemmShape(1024, 1024, 1024),
    ]

    /// Tunes `variant` on the device `specifier` names over `shapes`; stores the winner in
    /// `store` unless `dryRun`. At most `maxCandidates` candidates are tried.
    public static func tune(
        _ specifier: DeviceSpecifier, variant: GemmVariant = .automatic, shapes: [GemmShape] = defaultShapes,
        repeats: Int = 3, tolerance: Double = 1e-4, maxCandidates: Int = 64,
        store: inout GemmTuningStore, dryRun: Bool = false,
        progress: (String) -> Void = { _ in }
    ) throws -> GemmTuningReport {
        guard !shapes.isEmpty, repeats >= 1, maxCandidates >= 1, tolerance >= 0 else {
            throw ComputeError.invalidArgument(
                "tuning needs shapes, repeats >= 1, candidates >= 1 and a tolerance >= 0")
        }
        let base = try Device.open(specifier, gemmVariant: variant, gemmTuningStore: GemmTuningStore(url: nil)).device
        guard let description = base.openCLDescription, let resolved = base.gemmVariant, let defaults = base.gemmTuning
        else {
            throw ComputeError.invalidArgument(
                "tuning is for OpenCL devices; the CPU path uses OpenBLAS (choose an "
                    + "OpenCL device: opencl or opencl:P:D)")
        }
        var trials: [GemmTuningReport.Trial] = []
        var tried = Set<[String: Int]>()
        func settings(_ values: [String: Int]) -> String {
            resolved.tunables.map { "\($0)=\(values[$0]!)" }.joined(separator: ",")
        }
        /// The geometric mean of GFLOP/s over the shapes, or why the settings failed.
        func measure(_ values: [String: Int]) -> (gflops: Double?, failure: String?) {
            if let problem = GemmTuning(defaultsFor: description).applying(values).problem(
                for: resolved, on: description)
            {
                return (nil, problem)
            }
            do {
                let device = try Device.open(specifier, gemmVariant: resolved, gemmTuning: values).device
                var logSum = 0.0
                for shape in shapes {
                    let measured = try GemmBenchmark.run(
                        device: device, m: shape.m, n: shape.n, k: shape.k, transposeA: shape.transposeA,
                        transposeB: shape.transposeB, repeats: repeats, settle: false)
                    guard measured.maxRelError <= tolerance else {
                        return (
                            nil,
                            String(
                                format: "wrong result on %@ (error %.2e > %.2e)", shape.description,
                                measured.maxRelError, tolerance)
                        )
                    }
                    logSum += log(measured.gflops)
                }
                return (exp(logSum / Double(shapes.count)), nil)
            } catch {
                return (nil, "\(error)")
            }
        }
        func trial(_ values: [String: Int]) -> Double? {
            guard trials.count < maxCandidates, tried.insert(values).inserted else { return nil }
            let (gflops, failure) = measure(values)
            trials.append(GemmTuningReport.Trial(values: values, gflops: gflops, failure: failure))
            progress(
                "\(settings(values)): " + (gflops.map { String(format: "%.1f GFLOP/s", $0) } ?? "failed, \(failure!)"))
            return gflops
        }
        var best = defaults, bestGflops = trial(defaults)
        for stage in stages(resolved, description: description) {
            let center = best
            for change in stage {
                var values = center
                for (name, value) in change { values[name] = value }
                if let gflops = trial(values), gflops > (bestGflops ?? 0) { (best, bestGflops) = (values, gflops) }
            }
        }
        var report = GemmTuningReport(trials: trials, winner: nil)
        guard bestGflops != nil else { return report }
        guard
            let confirmed = TuningFinalists.confirm(
                trials.compactMap { trial in trial.gflops.map { (trial.values, $0) } }, defaults: defaults,
                higherIsBetter: true, measure: { measure($0).gflops })
        else { return report }
        progress(
            String(
                format: "confirmed: %@, median %.1f GFLOP/s of 3 timings", settings(confirmed.values),
                confirmed.score))
        report.winner = GemmTuningStore.Entry(
            device: description.name, platform: description.platformName, driver: description.driverVersion,
            variant: resolved.rawValue, values: confirmed.values, gflops: confirmed.score,
            defaultGflops: confirmed.defaultScore ?? 0, shapes: shapes.map(\.description))
        if !dryRun, let winner = report.winner { try store.store(winner) }
        return report
    }

    /// The search's stages: each a list of changes to the best settings so far.
    static func stages(_ variant: GemmVariant, description: OpenCLDeviceDescription) -> [[[String: Int]]] {
        switch variant {
        case .tiled:
            let blocking = [32, 64, 128].flatMap { tile in
                [2, 4, 8].map { work in ["TSM": tile, "TSN": tile, "WPTM": work, "WPTN": work] }
            }
            // Tiles and register tiles, then depth, vector width and buffering of the loads, then split-K.
            let loads = [1, 2, 4, 8].flatMap { width in [0, 1].map { buffers in ["GVW": width, "DB": buffers] } }
            return [blocking, [8, 16, 32].map { ["TSK": $0] }, loads, [1, 4, 16].map { ["KSPLIT": $0] }]
        case .vector, .automatic:
            // Accumulators (RM x NV vectors) within the vector registers: 32 with AVX-512, 16 with AVX2.
            let registers = description.preferredFloatVectorWidth >= 16 ? 24 : 12
            let blocking = [1, 2, 4].flatMap { nv in
                [4, 6, 8, 12].compactMap { rm in rm * nv <= registers ? ["NV": nv, "RM": rm] : nil }
            }
            let groups = [1, 2, 4].flatMap { lx in [4, 8, 16].map { ly in ["LX": lx, "LY": ly] } }
            // Then the k block, which sizes the panel of B each launch streams from cache.
            return [blocking, groups, [512, 1024, 2048, 1 << 30].map { ["KC": $0] }]
        }
    }
}
