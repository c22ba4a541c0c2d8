/// One neuron layer: a name and a layout.
public struct NeuronLayer: Sendable, Equatable {
    public var name: String
    public var layout: NeuronLayout

    public init(name: String, layout: NeuronLayout) {
        self.name = name
        self.layout = layout
    }
}
