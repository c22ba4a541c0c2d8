/// One neuron layer: a name and a layout.
public struct NeuronLayer: Sendable, Equatable {
    /// Shown in pictures and error messages.
    public var name: String
    /// Where the layer's slots sit, and how many neurons share each (folds).
    public var layout: NeuronLayout

    /// A layer named `name` with `layout`.
    public init(name: String, layout: NeuronLayout) {
        self.name = name
        self.layout = layout
    }
}
