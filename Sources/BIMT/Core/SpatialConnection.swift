/// A weight matrix between two neuron layers: weight [output neurons, input neurons] as in
/// PyTorch's `nn.Linear`, and an optional bias [output neurons].
public struct SpatialConnection: Sendable, Equatable {
    public var name: String
    public var input: Int
    public var output: Int
    public var weight: ParameterView
    public var bias: ParameterView?
    /// Overrides the settings' weight factor for this matrix (0 for `no_penalize_last`).
    public var weightFactor: Float?

    public init(name: String, input: Int, output: Int, weight: ParameterView, bias: ParameterView? = nil,
                weightFactor: Float? = nil) {
        self.name = name
        self.input = input
        self.output = output
        self.weight = weight
        self.bias = bias
        self.weightFactor = weightFactor
    }
}
