/// The training loss.
public enum LossKind: String, Sendable, Codable, CaseIterable {
    /// Mean squared error (regression targets, or one-hot class targets as the paper's image model uses).
    case mse
    /// Softmax cross-entropy over class labels.
    case crossEntropy = "cross-entropy"
}
