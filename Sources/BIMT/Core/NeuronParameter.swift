/// A parameter whose rows (or columns) belong to the neurons of a layer and move with
/// them: LayerNorm gains and biases, an embedding table's columns. The permuted axis has
/// the layer's neuron count (moved per neuron) or its slot count (moved per unit).
public struct NeuronParameter: Sendable, Equatable {
    public var name: String
    public var layer: Int
    public var view: ParameterView
    public var alongRows: Bool

    public init(name: String, layer: Int, view: ParameterView, alongRows: Bool = true) {
        self.name = name
        self.layer = layer
        self.view = view
        self.alongRows = alongRows
    }
}
