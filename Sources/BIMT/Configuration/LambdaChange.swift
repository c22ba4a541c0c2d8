/// One step of the lambda schedule: lambda is multiplied by `factor` from step
/// Int(fraction * steps) on (the changes compound).
public struct LambdaChange: Sendable, Equatable, Codable {
    /// Where the change takes effect, as a fraction of the run's steps.
    public var fraction: Double
    /// The multiplier.
    public var factor: Float

    /// lambda x `factor` from `fraction` of the steps on.
    public init(fraction: Double, factor: Float) {
        self.fraction = fraction
        self.factor = factor
    }
}
