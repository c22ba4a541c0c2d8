/// A parameter whose rows (or columns) belong to the neurons of a layer and move with
/// them: LayerNorm gains and biases, an embedding table's columns. The permuted axis has
/// the layer's neuron count (moved per neuron) or its slot count (moved per unit).
public struct NeuronParameter: Sendable, Equatable {
    /// The tensor's name (for messages).
    public var name: String
    /// The neuron layer whose arrangement it follows.
    public var layer: Int
    /// Where it lives in the parameter buffer.
    public var view: ParameterView
    /// True: rows move with the neurons (a LayerNorm gain); false: columns (an embedding table).
    public var alongRows: Bool

    /// A parameter of layer `layer` at `view`, moved along its rows or columns.
    public init(name: String, layer: Int, view: ParameterView, alongRows: Bool = true) {
        self.name = name
        self.layer = layer
        self.view = view
        self.alongRows = alongRows
    }
}
