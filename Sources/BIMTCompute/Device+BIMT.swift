/// How distances between neuron coordinates are measured.
public enum DistanceMetric: String, Sendable, Codable, CaseIterable {
    /// |dx| + |dy| (|dx| on a line): the paper's.
    case manhattan
    /// sqrt(dx^2 + dy^2)
    case euclidean

    var code: Int32 { self == .manhattan ? 0 : 1 }
}

/// One fused connection-cost pass over a weight matrix W (rows x columns, row-major: rows
/// are the neurons it writes, columns the neurons it reads, as PyTorch's `nn.Linear`):
///
/// ```
/// cost  += costScale * sum_ij |W_ij| * (wf * dist(out_i, in_j) + l0)
/// dW_ij += gradientScale * (wf * dist(out_i, in_j) + l0) * sign(W_ij)
/// ```
///
/// With `sum` reduction costScale = 1; with `mean`, 1 / (rows * columns). gradientScale is
/// lambda * costScale. Coordinates are SoA: x of every neuron, then y of every neuron.
public struct ConnectionCostPass: Sendable, Equatable {
    /// Rows of the weight matrix (output neurons).
    public var rows: Int
    /// Columns (input neurons).
    public var columns: Int
    /// wf: how much distance adds to a connection's cost.
    public var weightFactor: Float
    /// The distance-free part of a connection's cost.
    public var l0: Float
    /// Multiplies the cost (1, or 1 / count for a mean).
    public var costScale: Float
    /// Multiplies the gradient (lambda x costScale).
    public var gradientScale: Float
    /// How distance is measured.
    public var metric: DistanceMetric

    /// One matrix's connection-cost settings.
    public init(rows: Int, columns: Int, weightFactor: Float, l0: Float, costScale: Float,
                gradientScale: Float, metric: DistanceMetric = .manhattan) {
        self.rows = rows
        self.columns = columns
        self.weightFactor = weightFactor
        self.l0 = l0
        self.costScale = costScale
        self.gradientScale = gradientScale
        self.metric = metric
    }
}

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
    public init(units: Int, folds: Int, otherCount: Int, rowStride: Int, otherStride: Int, scale: Float,
                metric: DistanceMetric = .manhattan, accumulate: Bool) {
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

extension Device {
    /// Adds the connection cost of one matrix into `cost[0]` (on the device) and, when
    /// `gradient` is given, its gradient into `gradient`; see `ConnectionCostPass`.
    public func connectionCost(_ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
                               outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice) throws {
        try owned(weights, gradient, outCoordinates, inCoordinates, cost)
        try positive(pass.rows, pass.columns, "connection cost matrix")
        try expect(weights.count == pass.rows * pass.columns,
                   "connection cost: weights hold \(weights.count) elements for a [\(pass.rows), \(pass.columns)] matrix")
        try expect(gradient.map { $0.count == weights.count } ?? true,
                   "connection cost: gradient holds \(gradient?.count ?? 0) elements, weights \(weights.count)")
        try expect(outCoordinates.count == 2 * pass.rows,
                   "connection cost: \(outCoordinates.count / 2) out-coordinates for \(pass.rows) rows")
        try expect(inCoordinates.count == 2 * pass.columns,
                   "connection cost: \(inCoordinates.count / 2) in-coordinates for \(pass.columns) columns")
        try expect(cost.count == 1, "connection cost: the cost accumulator must be 1 element, got \(cost.count)")
        try backend.connectionCost(pass, weights: weights, gradient: gradient, outCoordinates: outCoordinates,
                                   inCoordinates: inCoordinates, cost: cost)
    }

    /// Adds costScale * l0 * sum |x| into `cost[0]` and gradientScale * l0 * sign(x) into
    /// `gradient`: the bias and embedding terms. With l0 = costScale = 1 and no gradient it
    /// is the plain sum of absolute values.
    public func l1Cost(values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float,
                       gradientScale: Float, cost: BufferSlice) throws {
        try owned(values, gradient, cost)
        try expect(gradient.map { $0.count == values.count } ?? true,
                   "L1 cost: gradient holds \(gradient?.count ?? 0) elements, values \(values.count)")
        try expect(cost.count == 1, "L1 cost: the cost accumulator must be 1 element, got \(cost.count)")
        try backend.l1Cost(values: values, gradient: gradient, l0: l0, costScale: costScale,
                           gradientScale: gradientScale, cost: cost)
    }

    /// Computes (or, with `pass.accumulate`, adds) the `units x units` swap-score matrix of
    /// one weight matrix; see `SwapScorePass`.
    public func swapScores(_ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
                           otherCoordinates: BufferSlice, scores: BufferSlice) throws {
        try owned(weights, slotCoordinates, otherCoordinates, scores)
        try positive(pass.units, pass.folds, "swap scores units/folds")
        try positive(pass.otherCount, pass.rowStride, "swap scores other-side count/row stride")
        try positive(pass.otherStride, 1, "swap scores other stride")
        try expect(weights.count >= pass.weightExtent,
                   "swap scores read \(pass.weightExtent) weights but the slice holds \(weights.count)")
        try expect(slotCoordinates.count == 2 * pass.units,
                   "swap scores: \(slotCoordinates.count / 2) slot coordinates for \(pass.units) units")
        try expect(otherCoordinates.count == 2 * pass.otherCount,
                   "swap scores: \(otherCoordinates.count / 2) coordinates for \(pass.otherCount) other-side neurons")
        try expect(scores.count == pass.units * pass.units,
                   "swap scores: the score matrix holds \(scores.count) elements, needs \(pass.units)^2")
        try backend.swapScores(pass, weights: weights, slotCoordinates: slotCoordinates,
                               otherCoordinates: otherCoordinates, scores: scores)
    }

    /// S[u] (+)= scale * sum over unit u's neurons of sum_i |W(j, i)| with the addressing of
    /// `swapScores` (the slot coordinates do not enter): a unit's importance via one matrix.
    public func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws {
        try owned(weights, sums)
        try positive(pass.units, pass.folds, "unit sums units/folds")
        try positive(pass.otherCount, pass.rowStride, "unit sums other-side count/row stride")
        try expect(weights.count >= pass.weightExtent,
                   "unit sums read \(pass.weightExtent) weights but the slice holds \(weights.count)")
        try expect(sums.count == pass.units, "unit sums: \(sums.count) outputs for \(pass.units) units")
        try backend.unitAbsoluteSums(pass, weights: weights, sums: sums)
    }

    /// D[j, k] = C[j, k] + C[k, j] - C[j, j] - C[k, k]: the cost change of swapping the units
    /// at slots j and k, for every pair at once.
    public func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws {
        try owned(scores, deltas)
        try positive(units, 1, "swap deltas units")
        try expect(scores.count == units * units && deltas.count == units * units,
                   "swap deltas: scores \(scores.count) and deltas \(deltas.count) elements for \(units) units")
        try backend.swapDeltas(scores: scores, units: units, deltas: deltas)
    }

    /// Permutes the rows (or columns) of a row-major [rows, columns] matrix in place: new
    /// row i is old row permutation[i].
    public func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        try owned(x)
        try positive(rows, columns, "permuted matrix")
        try expect(x.count == rows * columns, "permute: [\(rows), \(columns)] matrix but the slice holds \(x.count)")
        let length = alongRows ? rows : columns
        try expect(permutation.count == length, "permute: \(permutation.count) indices for \(length) \(alongRows ? "rows" : "columns")")
        guard isPermutation(permutation) else {
            throw ComputeError.invalidArgument("permute: \(permutation) is not a permutation of 0..<\(length)")
        }
        try backend.permute(x, rows: rows, columns: columns, permutation: permutation, alongRows: alongRows)
    }

    private func owned(_ slices: BufferSlice?...) throws {
        for slice in slices.compactMap({ $0 }) where slice.buffer.owner != ObjectIdentifier(backend) {
            throw ComputeError.foreignBuffer("a BIMT operand was not allocated by \(name)")
        }
    }

    private func positive(_ a: Int, _ b: Int, _ what: String) throws {
        guard a >= 1, b >= 1 else { throw ComputeError.invalidArgument("\(what) must be >= 1, got \(a), \(b)") }
    }

    private func expect(_ condition: Bool, _ text: @autoclosure () -> String) throws {
        guard condition else { throw ComputeError.shapeMismatch(text()) }
    }
}

/// Whether `values` holds each of 0 ..< values.count exactly once.
public func isPermutation(_ values: [Int]) -> Bool {
    var seen = [Bool](repeating: false, count: values.count)
    for v in values {
        guard (0..<values.count).contains(v), !seen[v] else { return false }
        seen[v] = true
    }
    return true
}
