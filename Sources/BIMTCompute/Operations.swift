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
    /// The step size.
    public var learningRate: Float
    /// The first moment's decay.
    public var beta1: Float
    /// The second moment's decay.
    public var beta2: Float
    /// Added to the second moment's root.
    public var epsilon: Float
    /// Decoupled weight decay.
    public var weightDecay: Float

    /// PyTorch's AdamW defaults, but weight decay 0.
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

/// Gradient clipping by global L2 norm (PyTorch's `clip_grad_norm_`): the gradient is scaled
/// by min(1, maximumNorm / (norm + 1e-6)), where norm is the square root of the value in
/// `normSquared`, a device scalar (`Device.squaredNorm`), so no step waits for the host.
public struct GradientClipping {
    /// The largest norm let through.
    public var maximumNorm: Float
    /// One element: the gradient's squared L2 norm.
    public var normSquared: BufferSlice

    public init(maximumNorm: Float, normSquared: BufferSlice) {
        self.maximumNorm = maximumNorm
        self.normSquared = normSquared
    }

    /// The factor the gradient is scaled by, for a squared norm (the kernels' formula).
    public static func scale(maximumNorm: Float, normSquared: Float) -> Float {
        min(1, maximumNorm / (normSquared.squareRoot() + 1e-6))
    }
}

/// The integer threshold and scale of a dropout rate (the kernels' arguments).
enum DropoutMask {
    static func threshold(_ rate: Float) -> UInt32 { UInt32(Double(rate) * 16_777_216) }
    static func scale(_ rate: Float) -> Float { 1 / (1 - rate) }
}
