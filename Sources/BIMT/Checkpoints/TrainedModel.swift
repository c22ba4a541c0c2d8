import BIMTCompute
import Foundation

/// A model read from a bimt checkpoint with its weights and arrangement, and the names of its
/// inputs and outputs, without its data: what drawing and sampling start from.
public struct TrainedModel {
    /// The model on the device, weights and arrangement loaded.
    public let model: any TrainableModel
    /// The configuration it was trained with.
    public let configuration: TrainingConfiguration
    /// Its input and output neurons' names in physical order.
    public let names: NeuronNames
    /// The step the checkpoint was written at.
    public let step: Int
    /// The task's input names in logical order (a character model's vocabulary).
    public let inputNames: [String]

    /// Reads `url` (a `checkpoint.safetensors`) onto `device`. Checkpoints of earlier
    /// versions, which did not record the task's names, take them from the task (a
    /// character model's from its stored vocabulary).
    public static func load(checkpoint url: URL, device: Device) throws -> TrainedModel {
        let file = try SafeTensors(contentsOf: url)
        let configuration = try Trainer.configuration(of: file)
        try configuration.validate()
        let model = try configuration.model.makeModel(cost: configuration.cost, relocationCost: configuration.relocationCost,
                                                      swapInputs: configuration.swapInputs, device: device)
        var values = [Float](repeating: 0, count: model.parameterCount)
        try model.importTensors(from: file, into: &values)
        try device.write(values, to: model.parameters.whole)
        model.geometry.network.permutations = try Trainer.permutations(in: file, for: model)
        func names(_ key: String) -> [String]? {
            file.metadata[key].flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }
        }
        var inputNames = names("input_names") ?? names("vocabulary"), outputNames = names("output_names") ?? names("vocabulary")
        if inputNames == nil || outputNames == nil {
            let data = try configuration.makeTask()
            inputNames = data.inputNames
            outputNames = data.outputNames
        }
        return TrainedModel(model: model, configuration: configuration,
                            names: NeuronNames(model: model, inputNames: inputNames!, outputNames: outputNames!),
                            step: file.metadata["step"].flatMap(Int.init) ?? 0, inputNames: inputNames!)
    }
}
