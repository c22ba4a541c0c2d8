import BIMTCompute
import Foundation

extension Trainer {
    /// A trainer (no run directory) holding the model and data of a checkpoint, with its
    /// weights and arrangement: what `analyze`, `render` and evaluation start from. It
    /// evaluates on what the run evaluated on, or with `onTestSplit` on the task's test split
    /// even where the run held out validation examples.
    public static func load(checkpoint url: URL, device: Device, onTestSplit: Bool = false) throws -> Trainer {
        let file = try SafeTensors(contentsOf: url)
        let stored = try Self.configuration(of: file)
        let configuration = onTestSplit ? stored.evaluatingOnTest : stored
        let trainer = try Trainer(configuration: configuration, device: device, runDirectory: nil)
        try trainer.load(file, includeOptimizer: false)
        trainer.step = file.metadata["step"].flatMap(Int.init) ?? 0
        return trainer
    }

    /// The training configuration a bimt checkpoint was written with.
    static func configuration(of file: SafeTensors) throws -> TrainingConfiguration {
        guard file.metadata["format"] == checkpointFormat, let text = file.metadata["config"] else {
            throw BIMTError.invalidFile(path: file.path, reason: "is not a bimt checkpoint (no format/config metadata)")
        }
        do { return try JSONDecoder().decode(TrainingConfiguration.self, from: Data(text.utf8)) } catch {
            throw BIMTError.invalidFile(path: file.path, reason: "holds an unreadable configuration (\(error))")
        }
    }

    /// Display names of the model's input and output neurons (physical order).
    public var neuronNames: NeuronNames { NeuronNames(model: model, inputNames: task.inputNames, outputNames: task.outputNames) }
}
