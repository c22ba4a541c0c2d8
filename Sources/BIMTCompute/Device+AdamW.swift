#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
    public init(
        learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, weightDecay: Float = 0
    ) {
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

/// The optimizer step and the squared gradient norm it clips by (Kernels/adamw.cl).
extension Device {
    /// One AdamW step (t = `step`, counted from 1) over a flat parameter slice. With
    /// `clipping`, the gradient is first scaled down to its maximum norm (the squared norm read
    /// on the device); with `decayMask` (one float per parameter, 1 or 0), weight decay applies
    /// where the mask is 1 only.
    public func adamW(
        _ hyperparameters: AdamWHyperparameters, step: Int, parameters: BufferSlice,
        gradients: BufferSlice, firstMoments: BufferSlice, secondMoments: BufferSlice,
        clipping: GradientClipping? = nil, decayMask: BufferSlice? = nil
    ) throws {
        guard step >= 1 else { throw ComputeError.invalidArgument("AdamW step counts from 1, got \(step)") }
        var slices = [
            (parameters, "parameters"), (gradients, "gradients"), (firstMoments, "first moments"),
            (secondMoments, "second moments"),
        ]
        if let decayMask { slices.append((decayMask, "weight decay mask")) }
        for (slice, label) in slices {
            try own(slice, "AdamW \(label)")
            try same(
                slice.count, parameters.count,
                "AdamW \(label) have \(slice.count) elements, parameters \(parameters.count)")
        }
        if let clipping {
            try own(clipping.normSquared, "AdamW squared gradient norm")
            try same(
                clipping.normSquared.count, 1,
                "the squared gradient norm is one element, got \(clipping.normSquared.count)")
            guard clipping.maximumNorm > 0, clipping.maximumNorm.isFinite else {
                throw ComputeError.invalidArgument("the maximum gradient norm must be > 0, got \(clipping.maximumNorm)")
            }
        }
        try backend.adamW(
            hyperparameters, step: step, parameters: parameters, gradients: gradients,
            firstMoments: firstMoments, secondMoments: secondMoments, clipping: clipping,
            decayMask: decayMask)
    }

    /// out[0] = the sum of x's squares (its squared L2 norm), on the device.
    public func squaredNorm(_ x: BufferSlice, into out: BufferSlice) throws {
        try own(x, "squared norm input"); try own(out, "squared norm output")
        try same(out.count, 1, "the squared norm is one element, got \(out.count)")
        try backend.squaredNorm(x, into: out)
    }
}
