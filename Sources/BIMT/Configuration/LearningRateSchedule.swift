import Foundation

/// nanoGPT's learning-rate schedule: linear warmup over `warmupSteps`, then cosine decay to
/// `minimumLearningRate` at `decaySteps` (nil: the run's last step), constant after.
/// For step index t (0 for the first step) and peak rate lr:
///
///     t < warmup:      lr (t + 1) / (warmup + 1)
///     t > decaySteps:  minimum
///     otherwise:       minimum + (lr - minimum) (1 + cos(pi (t - warmup) / (decaySteps - warmup))) / 2
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    /// Steps of linear warmup.
    public var warmupSteps: Int
    /// The rate the cosine decays to.
    public var minimumLearningRate: Float
    /// The step at which the decay ends (nil: the run's step count).
    public var decaySteps: Int?

    public init(warmupSteps: Int, minimumLearningRate: Float, decaySteps: Int? = nil) {
        self.warmupSteps = warmupSteps
        self.minimumLearningRate = minimumLearningRate
        self.decaySteps = decaySteps
    }

    /// The rate at step index `step` of a run of `steps` whose peak rate is `peak`.
    public func learningRate(at step: Int, peak: Float, steps: Int) -> Float {
        let end = decaySteps ?? steps
        if step < warmupSteps { return Float(Double(peak) * Double(step + 1) / Double(warmupSteps + 1)) }
        if step > end { return minimumLearningRate }
        let ratio = Double(step - warmupSteps) / Double(max(1, end - warmupSteps))
        let coefficient = 0.5 * (1 + cos(Double.pi * ratio))
        return Float(Double(minimumLearningRate) + coefficient * Double(peak - minimumLearningRate))
    }
}
