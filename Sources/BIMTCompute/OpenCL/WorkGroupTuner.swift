import Foundation

/// What `WorkGroupTuner.tune` tried and found.
public struct WorkGroupTuningReport: Sendable {
    /// One candidate: its sizes, and the median seconds of the workload or why it failed.
    public struct Trial: Sendable {
        /// group, pointwise, row, reduction.
        public var values: [String: Int]
        public var seconds: Double?
        public var failure: String?
    }

    /// The fastest verified sizes: the median seconds of three timings with them, and with
    /// the sizes the device had before (nil when those failed verification).
    public struct Winner: Sendable {
        public var values: [String: Int]
        public var seconds: Double
        public var defaultSeconds: Double?
    }

    public var trials: [Trial]
    /// Nil when no candidate passed verification.
    public var winner: Winner?
}

/// Searches an OpenCL device's work-group sizes (`WorkGroups`) by timing, at gpt-small's
/// shapes, kernels each size governs: `row` the softmax over rows and fused attention (it
/// also sizes the single-launch attention kernels' groups), `group` LayerNorm forward and
/// backward (one work-item per row, in groups of `group`), `pointwise` AdamW, the bias add and
/// its column sums, `reduction` the squared norm of the gradient. Every candidate's results
/// are checked against the CPU path first; one that differs, fails to build or cannot run is
/// never kept. One size at a time is varied around the best so far (powers of two from the
/// kernels' preferred work-group multiple up to the device's limit, within 4x of the current
/// size), then the three fastest and the device's own sizes are timed twice more,
/// alternating, and the best median wins.
public enum WorkGroupTuner {
    /// The workload's sizes: rows of its activations (of width 384, and the MLP's 1536),
    /// rows of its softmax (of 256 columns), parameters, and the attention's.
    public struct Size: Sendable {
        var tokens: Int, softmaxRows: Int, parameters: Int, attention: AttentionShape
        let width = 384, hidden = 1536, softmaxColumns = 256

        /// gpt-small at batch 16: 4096 tokens; 6144 softmax rows; 4M parameters; attention
        /// over 4 of its sequences (6 heads of 64, context 256).
        public static let gptSmall = Size(
            tokens: 4096, softmaxRows: 6144, parameters: 1 << 22,
            attention: AttentionShape(sequences: 4, length: 256, heads: 6, headDimension: 64))
        /// A quick pass through the search (64 tokens, 96 softmax rows, 5000 parameters, one
        /// short sequence's attention): what the rehearsals and tests run; its timings say
        /// little about training.
        public static let small = Size(
            tokens: 64, softmaxRows: 96, parameters: 5000,
            attention: AttentionShape(sequences: 2, length: 40, heads: 2, headDimension: 64))
    }

    /// The workload's inputs on the host, drawn once from a fixed seed (every candidate's
    /// device gets the same).
    struct Inputs {
        let x: [Float], gamma: [Float], beta: [Float], dy: [Float], scores: [Float], weights: [Float]
        let gradients: [Float], wide: [Float], bias: [Float], qkv: [Float], attendedGradient: [Float]

        init(_ size: Size) {
            var generator = SeededGenerator(seed: 29)
            let (t, w, h, a) = (size.tokens, size.width, size.hidden, size.attention)
            x = generator.uniform(t * w)
            gamma = generator.uniform(w, 0.5, 1.5)
            beta = generator.uniform(w)
            dy = generator.uniform(t * w)
            scores = generator.uniform(size.softmaxRows * size.softmaxColumns, -4, 4)
            weights = generator.uniform(size.parameters)
            gradients = generator.uniform(size.parameters, -1e-3, 1e-3)
            wide = generator.uniform(t * h)
            bias = generator.uniform(h)
            qkv = generator.uniform(a.rows * 3 * a.width)
            attendedGradient = generator.uniform(a.rows * a.width)
        }
    }

    /// The workload's buffers on one device, filled from `inputs` (drawn for `size` when not given).
    final class Workload {
        let device: Device, size: Size
        let x: Buffer, gamma: Buffer, beta: Buffer, normalized: Buffer, mean: Buffer, rstd: Buffer
        let dy: Buffer, dx: Buffer, dgamma: Buffer, dbeta: Buffer
        let scores: Buffer, probabilities: Buffer
        let weights: Buffer, gradients: Buffer, first: Buffer, second: Buffer, norm: Buffer
        let wide: Buffer, bias: Buffer, columnSums: Buffer
        let qkv: Buffer, attended: Buffer, logSumExp: Buffer, attendedGradient: Buffer, qkvGradient: Buffer

        init(_ device: Device, size: Size, inputs: Inputs? = nil) throws {
            self.device = device
            self.size = size
            let inputs = inputs ?? Inputs(size)
            let (t, w, h, a) = (size.tokens, size.width, size.hidden, size.attention)
            x = try device.makeBuffer(inputs.x)
            gamma = try device.makeBuffer(inputs.gamma)
            beta = try device.makeBuffer(inputs.beta)
            normalized = try device.makeBuffer(count: t * w)
            mean = try device.makeBuffer(count: t)
            rstd = try device.makeBuffer(count: t)
            dy = try device.makeBuffer(inputs.dy)
            dx = try device.makeBuffer(count: t * w)
            dgamma = try device.makeBuffer(count: w)
            dbeta = try device.makeBuffer(count: w)
            scores = try device.makeBuffer(inputs.scores)
            probabilities = try device.makeBuffer(count: scores.count)
            weights = try device.makeBuffer(inputs.weights)
            gradients = try device.makeBuffer(inputs.gradients)
            first = try device.makeBuffer([Float](repeating: 0, count: size.parameters))
            second = try device.makeBuffer([Float](repeating: 0, count: size.parameters))
            norm = try device.makeBuffer(count: 1)
            wide = try device.makeBuffer(inputs.wide)
            bias = try device.makeBuffer(inputs.bias)
            columnSums = try device.makeBuffer(count: h)
            qkv = try device.makeBuffer(inputs.qkv)
            attended = try device.makeBuffer(count: a.rows * a.width)
            logSumExp = try device.makeBuffer(count: a.statisticsCount)
            attendedGradient = try device.makeBuffer(inputs.attendedGradient)
            qkvGradient = try device.makeBuffer(count: a.rows * 3 * a.width)
        }

        /// One pass of every kernel (AdamW and the bias add change their buffers in place).
        func run() throws {
            let (t, w, h) = (size.tokens, size.width, size.hidden)
            try device.layerNormForward(
                x.whole, gamma: gamma.whole, beta: beta.whole, rows: t, columns: w, output: normalized.whole,
                mean: mean.whole, rstd: rstd.whole)
            try device.fill(dx.whole, value: 0)
            try device.fill(dgamma.whole, value: 0)
            try device.fill(dbeta.whole, value: 0)
            try device.layerNormBackward(
                x.whole, gamma: gamma.whole, outputGradient: dy.whole, mean: mean.whole, rstd: rstd.whole, rows: t,
                columns: w, inputGradient: dx.whole, gammaGradient: dgamma.whole, betaGradient: dbeta.whole)
            try device.softmaxRows(
                scores.whole, output: probabilities.whole, rows: size.softmaxRows, columns: size.softmaxColumns)
            try device.squaredNorm(gradients.whole, into: norm.whole)
            try device.adamW(
                AdamWHyperparameters(weightDecay: 0.1), step: 1, parameters: weights.whole,
                gradients: gradients.whole, firstMoments: first.whole, secondMoments: second.whole,
                clipping: GradientClipping(maximumNorm: 1, normSquared: norm.whole))
            try device.addBias(bias.whole, to: wide.whole, rows: t, columns: h)
            try device.sumColumns(wide.whole, rows: t, columns: h, into: columnSums.whole)
            try device.causalAttentionForward(
                size.attention, qkv: qkv.whole, output: attended.whole, logSumExp: logSumExp.whole)
            try device.causalAttentionBackward(
                size.attention, qkv: qkv.whole, output: attended.whole, outputGradient: attendedGradient.whole,
                logSumExp: logSumExp.whole, qkvGradient: qkvGradient.whole)
        }

        /// Every result of one pass, by name.
        func results() throws -> [(String, [Float])] {
            try [
                ("LayerNorm output", normalized), ("LayerNorm dx", dx), ("LayerNorm dgamma", dgamma),
                ("LayerNorm dbeta", dbeta), ("softmax", probabilities), ("squared norm", norm),
                ("AdamW parameters", weights), ("bias add", wide), ("column sums", columnSums),
                ("attention", attended), ("attention gradient", qkvGradient),
            ].map { ($0.0, try device.read($0.1.whole)) }
        }
    }

    /// Tunes the work-group sizes of the OpenCL device `specifier` names (with GEMM variant
    /// `variant` and `gemmTuning`, as it will run). At most `maxCandidates` candidates are tried;
    /// `tolerance` bounds each result's largest difference from the CPU path over its largest value.
    public static func tune(
        _ specifier: DeviceSpecifier, variant: GemmVariant = .automatic, gemmTuning: [String: Int]? = nil,
        repeats: Int = 3, tolerance: Double = 1e-4, maxCandidates: Int = 24, size: Size = .gptSmall,
        progress: (String) -> Void = { _ in }
    ) throws -> WorkGroupTuningReport {
        guard repeats >= 1, maxCandidates >= 1, tolerance >= 0 else {
            throw ComputeError.invalidArgument("tuning needs repeats >= 1, candidates >= 1 and a tolerance >= 0")
        }
        let base = try Device.open(
            specifier, gemmVariant: variant, gemmTuning: gemmTuning, gemmTuningStore: GemmTuningStore(url: nil)
        ).device
        guard let backend = base.backend as? OpenCLBackend else {
            throw ComputeError.invalidArgument(
                "tuning is for OpenCL devices; the CPU path has no work-groups (choose opencl or opencl:P:D)")
        }
        let defaults = backend.groups.values, limit = backend.device.maxWorkGroupSize
        let multiple = max(1, try backend.programs.workGroupInfo("elementwise", "fill").preferredMultiple)
        let inputs = Inputs(size)
        let reference = try Workload(Device.cpu(), size: size, inputs: inputs)
        try reference.run()
        let expected = try reference.results()

        let settings = describe
        /// The median seconds of the workload with `values`, or why they failed.
        func measure(_ values: [String: Int]) -> (seconds: Double?, failure: String?) {
            do {
                let device = try Device.open(
                    specifier, gemmVariant: variant, gemmTuning: gemmTuning, workGroups: values,
                    gemmTuningStore: GemmTuningStore(url: nil)
                ).device
                let workload = try Workload(device, size: size, inputs: inputs)
                try workload.run()
                for ((name, got), (_, want)) in zip(try workload.results(), expected) {
                    let largest = want.map { abs(Double($0)) }.max() ?? 0
                    let worst = zip(got, want).map { abs(Double($0) - Double($1)) }.max() ?? 0
                    guard worst <= tolerance * max(largest, 1e-30), got.allSatisfy(\.isFinite) else {
                        return (nil, String(format: "wrong %@ (error %.2e of %.2e)", name, worst, largest))
                    }
                }
                try workload.run() // warm-up
                let times = try (0..<repeats).map { _ in try device.seconds { try workload.run() } }
                return (median(times), nil)
            } catch {
                return (nil, "\(error)")
            }
        }
        var trials: [WorkGroupTuningReport.Trial] = []
        var tried = Set<[String: Int]>()
        func trial(_ values: [String: Int]) -> Double? {
            guard trials.count < maxCandidates, tried.insert(values).inserted else { return nil }
            let (seconds, failure) = measure(values)
            trials.append(WorkGroupTuningReport.Trial(values: values, seconds: seconds, failure: failure))
            progress(
                "work-groups \(settings(values)): "
                    + (seconds.map { String(format: "%.2f ms", $0 * 1e3) } ?? "failed, \(failure!)"))
            return seconds
        }
        var best = defaults, bestSeconds = trial(defaults)
        for name in WorkGroups.names {
            let center = best
            for size in candidates(around: center[name]!, multiple: multiple, limit: limit) {
                var values = center
                values[name] = size
                if let seconds = trial(values), seconds < (bestSeconds ?? .infinity) {
                    (best, bestSeconds) = (values, seconds)
                }
            }
        }
        var report = WorkGroupTuningReport(trials: trials, winner: nil)
        guard
            let confirmed = TuningFinalists.confirm(
                trials.compactMap { trial in trial.seconds.map { (trial.values, $0) } }, defaults: defaults,
                higherIsBetter: false, measure: { measure($0).seconds })
        else { return report }
        progress(
            String(
                format: "confirmed: work-groups %@, median %.2f ms of 3 timings", settings(confirmed.values),
                confirmed.score * 1e3))
        report.winner = WorkGroupTuningReport.Winner(
            values: confirmed.values, seconds: confirmed.score, defaultSeconds: confirmed.defaultScore)
        return report
    }

    /// "group=G,pointwise=P,row=R,reduction=D".
    public static func describe(_ values: [String: Int]) -> String {
        WorkGroups.names.map { "\($0)=\(values[$0].map(String.init) ?? "?")" }.joined(separator: ",")
    }

    /// Powers of two within 4x of `size`, at least the kernels' preferred multiple (or 8) and
    /// at most the device's largest work-group.
    static func candidates(around size: Int, multiple: Int, limit: Int) -> [Int] {
        var sizes: [Int] = []
        var candidate = 1
        while candidate <= limit {
            if candidate >= max(8, multiple), candidate * 4 >= size, candidate <= size * 4, candidate != size {
                sizes.append(candidate)
            }
            candidate *= 2
        }
        return sizes
    }
}
