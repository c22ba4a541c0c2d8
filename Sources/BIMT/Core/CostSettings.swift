import BIMTCompute

/// The connection-cost hyperparameters of BIMT (docs/METHOD.md, "The connection cost"):
///
/// ```
/// cost(W) = reduce_ij |W_ij| * (wf * dist(out_i, in_j) + l0)      wf = lastWeightFactor for the last matrix
/// cost(b) = reduce_i |b_i| * l0                                     when penalizeBiases
/// ```
///
/// A configuration carries two: the cost training adds to the loss, and the cost the swap
/// search minimizes (the paper scores swaps with wf on every matrix, even where training
/// leaves the last matrix out). Only the wf * dist part of the latter decides a swap: l0
/// and bias terms do not depend on where a neuron sits.
public struct CostSettings: Sendable, Equatable, Codable {
    /// wf: scales locality; 0 turns the cost into plain L1.
    public var weightFactor: Float
    /// The constant per-connection cost (the layer gap).
    public var l0: Float
    /// Sum or mean over each matrix's elements.
    public var reduction: CostReduction
    /// How distances are measured (the paper: Manhattan).
    public var metric: DistanceMetric
    /// Whether biases pay reduce |b| * l0.
    public var penalizeBiases: Bool
    /// wf of the matrices into the network's last layer (nil: `weightFactor`); 0 is the
    /// paper's `no_penalize_last` for the image model.
    public var lastWeightFactor: Float?

    /// Defaults: the paper's symbolic-formula settings (wf 1, l0 0.1, sum), biases free.
    public init(
        weightFactor: Float = 1, l0: Float = 0.1, reduction: CostReduction = .sum,
        metric: DistanceMetric = .manhattan, penalizeBiases: Bool = false, lastWeightFactor: Float? = nil
    ) {
        self.weightFactor = weightFactor
        self.l0 = l0
        self.reduction = reduction
        self.metric = metric
        self.penalizeBiases = penalizeBiases
        self.lastWeightFactor = lastWeightFactor
    }

    /// These settings with wf on every matrix, the last included.
    public var penalizingLast: CostSettings {
        var settings = self
        settings.lastWeightFactor = nil
        return settings
    }

    /// Checks the values; `role` names the settings in the message.
    public func validate(_ role: String) throws {
        guard l0 >= 0, l0.isFinite, weightFactor >= 0, weightFactor.isFinite, (lastWeightFactor ?? 0) >= 0,
            (lastWeightFactor ?? 0).isFinite
        else {
            throw BIMTError.invalidField(
                field: role,
                reason:
                    "l0, weightFactor and lastWeightFactor must be finite and >= 0; "
                    + "got l0 \(l0), weightFactor \(weightFactor), "
                    + "lastWeightFactor \(lastWeightFactor.map { "\($0)" } ?? "nil")")
        }
    }

    /// 1 for sum, 1 / count for mean.
    func scale(count: Int) -> Float { reduction == .sum ? 1 : 1 / Float(count) }
}
