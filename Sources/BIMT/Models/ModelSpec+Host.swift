/// What a model is on the host, without building it on a device: its network and how its
/// flat parameters map to PyTorch's tensors. Drawing a checkpoint needs no more.
extension ModelSpec {
    /// The model's layers, layouts, connections and swap groups (identity arrangement).
    public func spatialNetwork(swapInputs: Bool) throws -> SpatialNetwork {
        switch self {
        case let .mlp(a): try a.spatialNetwork(swapInputs: swapInputs)
        case let .convNet(convolution, head): try ConvNet.spatialNetwork(convolution, head: head)
        case let .transformer(t): try GPT.spatialNetwork(t, views: GPT.Views(t))
        }
    }

    /// Outputs per predicted row (a transformer's scored outputs).
    public var outputWidth: Int {
        switch self {
        case let .mlp(a), let .convNet(_, a): a.widths.last!
        case let .transformer(t): t.scoredOutputs
        }
    }

    /// The token embedding of an MLP's input (nil for the others).
    public var embedding: EmbeddingSpec? { if case let .mlp(a) = self { a.embedding } else { nil } }

    /// The flat parameters of the model over `network` (`spatialNetwork`), read from its
    /// PyTorch-named tensors in `file` (shapes checked, NaN and infinity refused).
    public func parameterValues(from file: NamedTensors, network: SpatialNetwork) throws -> [Float] {
        switch self {
        case .mlp:
            var values = [Float](repeating: 0, count: network.parameterExtent)
            try MLP.importTensors(from: file, network: network, into: &values)
            return values
        case let .convNet(convolution, _):
            var values = [Float](repeating: 0, count: network.parameterExtent)
            try ConvNet.PyTorchLayout(convolution: convolution, network: network).read(file, into: &values)
            return values
        case let .transformer(t):
            let views = GPT.Views(t)
            var values = [Float](repeating: 0, count: views.count)
            try GPT.importTensors(from: file, views: views, t, into: &values)
            return values
        }
    }
}
