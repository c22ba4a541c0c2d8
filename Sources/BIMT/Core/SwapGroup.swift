/// Neuron layers that share ONE arrangement (the residual stream of a transformer), and
/// how they move: unit by unit, or with `blockSize` b first as whole blocks of b slots
/// (attention heads) and then unit by unit inside each block.
public struct SwapGroup: Sendable, Equatable {
    /// The layers that share the arrangement (their slots must coincide).
    public var layers: [Int]
    /// Move whole blocks of this many slots first (attention heads), then units inside them.
    public var blockSize: Int?
    /// False freezes the group (the pixels of an image input stay on their grid).
    public var swappable: Bool

    /// A group of `layers`, moved in blocks of `blockSize` when given; `swappable` false freezes it.
    public init(layers: [Int], blockSize: Int? = nil, swappable: Bool = true) {
        self.layers = layers
        self.blockSize = blockSize
        self.swappable = swappable
    }
}
