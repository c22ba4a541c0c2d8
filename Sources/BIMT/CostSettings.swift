import BIMTCompute

/// How the connection cost reduces over a matrix's elements.
public enum CostReduction: String, Sendable, Codable, CaseIterable {
    case sum
    case mean
}

/// The connection-cost hyperparameters of BIMT (`../shared/BIMT.md` section 2):
/// cost(W) = reduce_ij |W_ij| * (weightFactor * dist + l0).
public struct CostSettings: Sendable, Equatable, Codable {
    /// wf: scales locality; 0 turns the cost into plain L1.
    public var weightFactor: Float
    /// The constant per-connection cost (the layer gap).
    public var l0: Float
    public var reduction: CostReduction
    public var metric: DistanceMetric
    /// Whether biases pay reduce |b| * l0.
    public var penalizeBiases: Bool

    public init(weightFactor: Float = 1, l0: Float = 0.1, reduction: CostReduction = .sum,
                metric: DistanceMetric = .manhattan, penalizeBiases: Bool = false) {
        self.weightFactor = weightFactor
        self.l0 = l0
        self.reduction = reduction
        self.metric = metric
        self.penalizeBiases = penalizeBiases
    }

    /// 1 for sum, 1 / count for mean.
    func scale(count: Int) -> Float { reduction == .sum ? 1 : 1 / Float(count) }
}
