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
    public init(
        rows: Int, columns: Int, weightFactor: Float, l0: Float, costScale: Float,
        gradientScale: Float, metric: DistanceMetric = .manhattan
    ) {
        self.rows = rows
        self.columns = columns
        self.weightFactor = weightFactor
        self.l0 = l0
        self.costScale = costScale
        self.gradientScale = gradientScale
        self.metric = metric
    }
}

/// The connection cost and its gradient (Kernels/connection_cost.cl).
extension Device {
    /// Adds the connection cost of one matrix into `cost[0]` (on the device) and, when
    /// `gradient` is given, its gradient into `gradient`; see `ConnectionCostPass`.
    public func connectionCost(
        _ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
        outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice
    ) throws {
        try owned(weights, gradient, outCoordinates, inCoordinates, cost)
        try positive(pass.rows, pass.columns, "connection cost matrix")
        try expect(
            weights.count == pass.rows * pass.columns,
            "connection cost: weights hold \(weights.count) elements "
                + "for a [\(pass.rows), \(pass.columns)] matrix")
        try expect(
            gradient.map { $0.count == weights.count } ?? true,
            "connection cost: gradient holds \(gradient?.count ?? 0) elements, weights \(weights.count)")
        try expect(
            outCoordinates.count == 2 * pass.rows,
            "connection cost: \(outCoordinates.count / 2) out-coordinates for \(pass.rows) rows")
        try expect(
            inCoordinates.count == 2 * pass.columns,
            "connection cost: \(inCoordinates.count / 2) in-coordinates for \(pass.columns) columns")
        try expect(cost.count == 1, "connection cost: the cost accumulator must be 1 element, got \(cost.count)")
        try backend.connectionCost(
            pass, weights: weights, gradient: gradient, outCoordinates: outCoordinates,
            inCoordinates: inCoordinates, cost: cost)
    }

    /// Adds costScale * l0 * sum |x| into `cost[0]` and gradientScale * l0 * sign(x) into
    /// `gradient`: the bias and embedding terms. With l0 = costScale = 1 and no gradient it
    /// is the plain sum of absolute values.
    public func l1Cost(
        values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float,
        gradientScale: Float, cost: BufferSlice
    ) throws {
        try owned(values, gradient, cost)
        try expect(
            gradient.map { $0.count == values.count } ?? true,
            "L1 cost: gradient holds \(gradient?.count ?? 0) elements, values \(values.count)")
        try expect(cost.count == 1, "L1 cost: the cost accumulator must be 1 element, got \(cost.count)")
        try backend.l1Cost(
            values: values, gradient: gradient, l0: l0, costScale: costScale,
            gradientScale: gradientScale, cost: cost)
    }
}
