import BIMTCompute
import Foundation

/// A checkpoint's model on the host, without a device: its network as the run left it
/// arranged, its flat weights, and its neurons' names. What drawing a finished run needs.
public struct StoredModel {
    /// The configuration it was trained with.
    public let configuration: TrainingConfiguration
    /// The layers, layouts and connections, arranged as the checkpoint records.
    public let network: SpatialNetwork
    /// The flat parameters (the model's buffer layout, physical order).
    public let values: [Float]
    /// Its input and output neurons' names in physical order.
    public let names: NeuronNames
    /// The task's input names in logical order (a character model's vocabulary).
    public let inputNames: [String]
    /// The step the checkpoint was written at.
    public let step: Int

    /// The model's kind and architecture.
    public var specification: ModelSpec { configuration.model }

    /// Reads `url` (a `checkpoint.safetensors`).
    public static func load(checkpoint url: URL) throws -> StoredModel {
        try StoredModel(try Checkpoint.read(from: url))
    }

    /// The model of a bimt checkpoint. Checkpoints of earlier versions, which did not record
    /// the task's names, take them from the task (a character model's from its stored vocabulary).
    public init(_ checkpoint: Checkpoint) throws {
        let configuration = try checkpoint.requireConfiguration()
        try configuration.validate()
        let specification = configuration.model
        var network = try specification.spatialNetwork(swapInputs: configuration.swapInputs)
        values = try specification.parameterValues(from: checkpoint.parameters, network: network)
        network.permutations = try checkpoint.arrangement(from: network.permutations)
        let (inputNames, outputNames) =
            try checkpoint.taskNames
            ?? {
                let data = try configuration.makeTask()
                return (data.inputNames, data.outputNames)
            }()
        names = NeuronNames(
            network: network, embedded: specification.embedding != nil,
            outputWidth: specification.outputWidth, inputNames: inputNames, outputNames: outputNames)
        (self.configuration, self.network, self.inputNames) = (configuration, network, inputNames)
        step = checkpoint.step ?? 0
    }
}

/// A model read from a bimt checkpoint with its weights and arrangement, and the names of its
/// inputs and outputs, without its data: what sampling (and a picture of a device's model) start from.
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

    /// Reads `url` (a `checkpoint.safetensors`) onto `device` (see `StoredModel`).
    public static func load(checkpoint url: URL, device: Device) throws -> TrainedModel {
        let stored = try StoredModel.load(checkpoint: url)
        let configuration = stored.configuration
        let model = try configuration.model.makeModel(
            cost: configuration.cost, relocationCost: configuration.relocationCost,
            swapInputs: configuration.swapInputs, device: device)
        try device.write(stored.values, to: model.parameters.whole)
        model.geometry.network.permutations = stored.network.permutations
        return TrainedModel(
            model: model, configuration: configuration, names: stored.names, step: stored.step,
            inputNames: stored.inputNames)
    }
}
