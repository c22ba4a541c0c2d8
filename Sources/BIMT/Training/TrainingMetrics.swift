import Foundation

/// One logged point of a run (a row of `metrics.csv`).
public struct TrainingMetrics: Sendable, Equatable {
    /// Steps done.
    public var step: Int
    /// The loss of this step's batch.
    public var trainLoss: Double
    /// The loss over the test split.
    public var testLoss: Double
    /// Accuracy on this step's batch (classification).
    public var trainAccuracy: Double?
    /// Accuracy over the test split (classification).
    public var testAccuracy: Double?
    /// The connection cost (without lambda).
    public var cost: Double
    /// lambda at this step.
    public var lambda: Double
    /// Training seconds so far.
    public var seconds: Double
    /// A sequence model predicting several positions with MSE: the test loss at the last
    /// predicted position alone (the in-context task's y_T).
    public var testLastLoss: Double? = nil

    /// The header of `metrics.csv`.
    public static let csvHeader =
        "step,train_loss,test_loss,train_accuracy,test_accuracy,cost,lambda,seconds,test_last_loss"

    /// This point as a row of `metrics.csv`.
    public var csvRow: String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.9g", $0) } ?? "" }
        return "\(step),\(f(trainLoss)),\(f(testLoss)),\(f(trainAccuracy)),\(f(testAccuracy)),\(f(cost)),\(f(lambda)),"
            + "\(String(format: "%.3f", seconds)),\(f(testLastLoss))"
    }
}
