import BIMTCompute
import Foundation

extension Trainer {
    /// A trainer (no run directory) holding the model and data of a checkpoint, with its
    /// weights and arrangement: what `analyze`, `render` and evaluation start from. It
    /// evaluates on what the run evaluated on, or with `onTestSplit` on the task's test split
    /// even where the run held out validation examples.
    public static func load(checkpoint url: URL, device: Device, onTestSplit: Bool = false) throws -> Trainer {
        let checkpoint = try Checkpoint.read(from: url)
        let stored = try checkpoint.requireConfiguration()
        let configuration = onTestSplit ? stored.evaluatingOnTest : stored
        let trainer = try Trainer(configuration: configuration, device: device, runDirectory: nil)
        try trainer.load(checkpoint, includeOptimizer: false)
        trainer.step = checkpoint.step ?? 0
        return trainer
    }

    /// Display names of the model's input and output neurons (physical order).
    public var neuronNames: NeuronNames {
        NeuronNames(model: model, inputNames: task.inputNames, outputNames: task.outputNames)
    }
}
