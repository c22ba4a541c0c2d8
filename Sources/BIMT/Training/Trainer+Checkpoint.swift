import BIMTCompute
import Foundation

extension Trainer {
    /// A trainer (no run directory) holding the model and data of a checkpoint, with its
    /// weights and arrangement: what `analyze`, `render` and evaluation start from.
    public static func load(checkpoint url: URL, device: Device) throws -> Trainer {
        let file = try SafeTensors(contentsOf: url)
        let configuration = try Self.configuration(of: file)
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

    /// Display names of every neuron of layer 0 (physical order): the task's input names
    /// through `in_perm`, or token/dimension names for an embedded input.
    public var inputNeuronNames: [String] {
        let network = model.network, layout = network.layers[0].layout
        return network.inputPermutation.map { logical in
            if model.embedding != nil {
                let token = logical / layout.slots, dimension = logical % layout.slots
                let name = token < task.inputNames.count ? task.inputNames[token] : "t\(token)"
                return "\(name).\(dimension)"
            }
            return logical < task.inputNames.count ? task.inputNames[logical] : "x\(logical + 1)"
        }
    }

    /// Display names of the output neurons (physical order), through `out_perm`; an output
    /// no loss reads (beyond a transformer's `predictedOutputs`) is "unscored".
    public var outputNeuronNames: [String] {
        let scored = model.outputWidth
        return model.network.outputPermutation.map { logical in
            if logical < task.outputNames.count { return task.outputNames[logical] }
            return logical >= scored ? "unscored \(logical + 1)" : "y\(logical + 1)"
        }
    }
}
