/// The spatial side of a model: its neuron layers with layouts, the weight matrices
/// between them (as views into one flat parameter buffer), per-neuron parameters, and the
/// swap groups. It also records, for every layer, which logical neuron each physical
/// position holds: `permutations[0]` is `in_perm`, the last layer's is `out_perm`.
public struct SpatialNetwork: Sendable, Equatable {
    /// Neuron layers, inputs first.
    public let layers: [NeuronLayer]
    /// Weight matrices between the layers.
    public let connections: [SpatialConnection]
    /// Per-neuron parameters that move with their layer (LayerNorm gains, embedding columns).
    public let neuronParameters: [NeuronParameter]
    /// Tables that pay reduce |E| * l0 (token embeddings); they move only through
    /// `neuronParameters`.
    public let embeddingTables: [ParameterView]
    /// Every layer's swap group (layers named in none get one of their own).
    public let groups: [SwapGroup]
    /// permutations[l][s] = the logical neuron of layer l at physical position s.
    public internal(set) var permutations: [[Int]]

    /// Validates every shape; layers in no group get a swappable group of their own.
    public init(
        layers: [NeuronLayer], connections: [SpatialConnection], neuronParameters: [NeuronParameter] = [],
        embeddingTables: [ParameterView] = [], groups: [SwapGroup] = []
    ) throws {
        self.layers = layers
        self.connections = connections
        self.neuronParameters = neuronParameters
        self.embeddingTables = embeddingTables
        var claimed = [Bool](repeating: false, count: layers.count)
        for group in groups {
            guard let first = group.layers.first else { throw BIMTError.invalidSetting("a swap group with no layers") }
            for l in group.layers {
                guard layers.indices.contains(l) else {
                    throw BIMTError.invalidSetting("swap group names layer \(l) of \(layers.count)")
                }
                guard !claimed[l] else {
                    throw BIMTError.invalidSetting("layer '\(layers[l].name)' is in two swap groups")
                }
                claimed[l] = true
                // Members share slots (and their coordinates); folds may differ: a conv layer's channels
                // are one sheet, seen unfolded by its own kernel and folded by the next layer's.
                guard layers[l].layout.slotCoordinates == layers[first].layout.slotCoordinates else {
                    throw BIMTError.shapeMismatch(
                        "swap group joins '\(layers[first].name)' and '\(layers[l].name)', whose slots differ")
                }
            }
            if let b = group.blockSize, b < 1 || layers[first].layout.slots % b != 0 {
                throw BIMTError.invalidSetting(
                    "block size \(b) does not divide the \(layers[first].layout.slots) slots of '\(layers[first].name)'"
                )
            }
        }
        self.groups = groups + layers.indices.filter { !claimed[$0] }.map { SwapGroup(layers: [$0]) }
        for c in connections {
            guard layers.indices.contains(c.input), layers.indices.contains(c.output) else {
                throw BIMTError.shapeMismatch(
                    "connection '\(c.name)' joins layers \(c.input) -> \(c.output) of \(layers.count)")
            }
            guard
                self.groups.first(where: { $0.layers.contains(c.input) })
                    != self.groups.first(where: { $0.layers.contains(c.output) })
            else {
                throw BIMTError.shapeMismatch(
                    "connection '\(c.name)' joins two layers of one swap group; its swap scores would not separate")
            }
            let rows = layers[c.output].layout.neuronCount, columns = layers[c.input].layout.neuronCount
            guard c.weight.rows == rows, c.weight.columns == columns else {
                throw BIMTError.shapeMismatch(
                    "connection '\(c.name)' weight is [\(c.weight.rows), \(c.weight.columns)] but layers "
                        + "'\(layers[c.output].name)' x '\(layers[c.input].name)' need [\(rows), \(columns)]")
            }
            if let bias = c.bias, bias.count != rows {
                throw BIMTError.shapeMismatch(
                    "connection '\(c.name)' bias has \(bias.count) elements for \(rows) neurons")
            }
        }
        for p in neuronParameters {
            guard layers.indices.contains(p.layer) else {
                throw BIMTError.shapeMismatch("parameter '\(p.name)' names layer \(p.layer)")
            }
            let length = p.alongRows ? p.view.rows : p.view.columns, layout = layers[p.layer].layout
            guard length == layout.neuronCount || length == layout.slots else {
                throw BIMTError.shapeMismatch(
                    "parameter '\(p.name)' moves along an axis of \(length), but layer '\(layers[p.layer].name)' has "
                        + "\(layout.neuronCount) neurons in \(layout.slots) slots")
            }
        }
        permutations = layers.map { Array(0..<$0.layout.neuronCount) }
    }

    /// `in_perm`: physical input slot s holds logical input inputPermutation[s].
    public var inputPermutation: [Int] { permutations.first ?? [] }
    /// `out_perm`: physical output slot s is logical output outputPermutation[s].
    public var outputPermutation: [Int] { permutations.last ?? [] }

    /// Extent of the parameter buffer the network refers to.
    public var parameterExtent: Int {
        let views =
            connections.flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) } + neuronParameters.map(\.view)
            + embeddingTables
        return views.map { $0.offset + $0.count }.max() ?? 0
    }

    /// The wf a connection pays under `settings`: its own override, else the settings'
    /// last-matrix factor for a matrix into the last layer, else the settings' wf.
    public func weightFactor(of connection: SpatialConnection, under settings: CostSettings) -> Float {
        if let own = connection.weightFactor { return own }
        if connection.output == layers.count - 1, let last = settings.lastWeightFactor { return last }
        return settings.weightFactor
    }

    /// Expands a permutation of slots (new slot s <- old slot units[s]) to the layer's neurons.
    func neuronPermutation(layer: Int, units: [Int]) -> [Int] {
        let m = layers[layer].layout.slots, f = layers[layer].layout.folds
        return (0..<(m * f)).map { j in units[j % m] + (j / m) * m }
    }
}
