/// Display names of a model's input and output neurons in physical order (as relocation left
/// them), for pictures and module reports.
public struct NeuronNames: Sendable, Equatable {
    /// One per neuron of layer 0: the task's input names through `in_perm`, or token and
    /// dimension names ("a.3") for an embedded input.
    public var inputs: [String]
    /// One per output neuron, through `out_perm`; an output no loss reads (beyond a
    /// transformer's `predictedOutputs`) is "unscored".
    public var outputs: [String]

    /// The names of `model`'s neurons, given the task's input and output names in logical order.
    public init(model: any TrainableModel, inputNames: [String], outputNames: [String]) {
        self.init(
            network: model.network, embedded: model.embedding != nil, outputWidth: model.outputWidth,
            inputNames: inputNames, outputNames: outputNames)
    }

    /// The names of the neurons of `network` (as arranged), given the task's input and output
    /// names in logical order: `embedded` for token inputs, `outputWidth` the scored outputs.
    public init(
        network: SpatialNetwork, embedded: Bool, outputWidth: Int, inputNames: [String],
        outputNames: [String]
    ) {
        let layout = network.layers[0].layout
        inputs = network.inputPermutation.map { logical in
            if embedded {
                let token = logical / layout.slots, dimension = logical % layout.slots
                let name = token < inputNames.count ? inputNames[token] : "t\(token)"
                return "\(name).\(dimension)"
            }
            return logical < inputNames.count ? inputNames[logical] : "x\(logical + 1)"
        }
        let scored = outputWidth
        outputs = network.outputPermutation.map { logical in
            if logical < outputNames.count { return outputNames[logical] }
            return logical >= scored ? "unscored \(logical + 1)" : "y\(logical + 1)"
        }
    }
}
