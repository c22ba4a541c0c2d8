/// A weight matrix between two neuron layers: weight [output neurons, input neurons] as in
/// PyTorch's `nn.Linear`, and an optional bias [output neurons].
public struct SpatialConnection: Sendable, Equatable {
    /// The matrix's name (its checkpoint prefix, e.g. `layers.0`).
    public var name: String
    /// Index of the neuron layer the matrix reads (its columns).
    public var input: Int
    /// Index of the neuron layer the matrix writes (its rows).
    public var output: Int
    /// [output neurons, input neurons] in the parameter buffer.
    public var weight: ParameterView
    /// [output neurons], when the map has a bias.
    public var bias: ParameterView?
    /// Overrides the settings' weight factor for this matrix (0 for `no_penalize_last`).
    public var weightFactor: Float?

    /// A matrix from layer `input` to layer `output`; shapes are checked by `SpatialNetwork`.
    public init(
        name: String, input: Int, output: Int, weight: ParameterView, bias: ParameterView? = nil,
        weightFactor: Float? = nil
    ) {
        self.name = name
        self.input = input
        self.output = output
        self.weight = weight
        self.bias = bias
        self.weightFactor = weightFactor
    }
}
