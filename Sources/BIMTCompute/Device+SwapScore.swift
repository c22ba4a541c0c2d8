/// Swap scores of one weight matrix touching a neuron layer of `units` slots with `folds`
/// neurons each (neuron j = u + t*units sits in slot u):
///
/// ```
/// C[u, p] (+)= scale * sum_t sum_i |W(u + t*units, i)| * dist(slot p, other neuron i)
/// ```
///
/// W(j, i) = W[j * rowStride + i * otherStride]: for the layer's incoming matrix
/// rowStride = fan-in and otherStride = 1; for its outgoing matrix rowStride = 1 and
/// otherStride = units * folds. `scale` is wf times the matrix's reduction scale.
public struct SwapScorePass: Sendable, Equatable {
    /// Neurons of the layer being scored.
    public var units: Int
    /// Folds per neuron (a folded layer's copies).
    public var folds: Int
    /// Neurons on the other side of the connection.
    public var otherCount: Int
    /// Floats between consecutive units' weights.
    public var rowStride: Int
    /// Floats between consecutive other-side weights.
    public var otherStride: Int
    /// Multiplies every score (the cost's scale and wf).
    public var scale: Float
    /// How distance is measured.
    public var metric: DistanceMetric
    /// Add to the scores instead of overwriting them.
    public var accumulate: Bool

    /// One connection's part of a layer's swap scores.
    public init(
        units: Int, folds: Int, otherCount: Int, rowStride: Int, otherStride: Int, scale: Float,
        metric: DistanceMetric = .manhattan, accumulate: Bool
    ) {
        self.units = units
        self.folds = folds
        self.otherCount = otherCount
        self.rowStride = rowStride
        self.otherStride = otherStride
        self.scale = scale
        self.metric = metric
        self.accumulate = accumulate
    }

    /// Elements of W the pass reads: the largest index touched, plus one.
    var weightExtent: Int {
        (units * folds - 1) * rowStride + (otherCount - 1) * otherStride + 1
    }
}

/// Swap scores, unit importances and swap deltas for relocation (Kernels/swap_score.cl).
extension Device {
    /// Computes (or, with `pass.accumulate`, adds) the `units x units` swap-score matrix of
    /// one weight matrix; see `SwapScorePass`.
    public func swapScores(
        _ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
        otherCoordinates: BufferSlice, scores: BufferSlice
    ) throws {
        try owned(weights, slotCoordinates, otherCoordinates, scores)
        try positive(pass.units, pass.folds, "swap scores units/folds")
        try positive(pass.otherCount, pass.rowStride, "swap scores other-side count/row stride")
        try positive(pass.otherStride, 1, "swap scores other stride")
        try expect(
            weights.count >= pass.weightExtent,
            "swap scores read \(pass.weightExtent) weights but the slice holds \(weights.count)")
        try expect(
            slotCoordinates.count == 2 * pass.units,
            "swap scores: \(slotCoordinates.count / 2) slot coordinates for \(pass.units) units")
        try expect(
            otherCoordinates.count == 2 * pass.otherCount,
            "swap scores: \(otherCoordinates.count / 2) coordinates for \(pass.otherCount) other-side neurons")
        try expect(
            scores.count == pass.units * pass.units,
            "swap scores: the score matrix holds \(scores.count) elements, needs \(pass.units)^2")
        try backend.swapScores(
            pass, weights: weights, slotCoordinates: slotCoordinates,
            otherCoordinates: otherCoordinates, scores: scores)
    }

    /// S[u] (+)= scale * sum over unit u's neurons of sum_i |W(j, i)| with the addressing of
    /// `swapScores` (the slot coordinates do not enter): a unit's importance via one matrix.
    public func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws {
        try owned(weights, sums)
        try positive(pass.units, pass.folds, "unit sums units/folds")
        try positive(pass.otherCount, pass.rowStride, "unit sums other-side count/row stride")
        try expect(
            weights.count >= pass.weightExtent,
            "unit sums read \(pass.weightExtent) weights but the slice holds \(weights.count)")
        try expect(sums.count == pass.units, "unit sums: \(sums.count) outputs for \(pass.units) units")
        try backend.unitAbsoluteSums(pass, weights: weights, sums: sums)
    }

    /// D[j, k] = C[j, k] + C[k, j] - C[j, j] - C[k, k]: the cost change of swapping the units
    /// at slots j and k, for every pair at once.
    public func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws {
        try owned(scores, deltas)
        try positive(units, 1, "swap deltas units")
        try expect(
            scores.count == units * units && deltas.count == units * units,
            "swap deltas: scores \(scores.count) and deltas \(deltas.count) elements for \(units) units")
        try backend.swapDeltas(scores: scores, units: units, deltas: deltas)
    }
}
