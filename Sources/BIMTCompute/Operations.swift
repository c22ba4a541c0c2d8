/// Pointwise activation functions with a forward and an accumulating backward pass.
public enum Activation: String, Sendable, CaseIterable, Codable {
    /// max(x, 0)
    case relu
    /// x * sigmoid(x)
    case silu
    /// GELU, tanh form: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    case gelu
    case tanh
}

/// AdamW hyperparameters (PyTorch's defaults but for weight decay, which BIMT keeps at 0).
public struct AdamWHyperparameters: Sendable, Equatable, Codable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Bias corrections (1 - beta1^t, 1 - beta2^t) for step t >= 1.
    func biasCorrections(step: Int) -> (Float, Float) {
        let t = Double(step)
        return (Float(1 - pow(Double(beta1), t)), Float(1 - pow(Double(beta2), t)))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
