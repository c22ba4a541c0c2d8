import BIMTCompute

/// A token-embedding input: `folds` tokens per example, each looked up in a
/// [vocabulary, dimension] table and concatenated (modular addition: 2 tokens).
public struct EmbeddingSpec: Sendable, Equatable, Codable {
    /// Tokens come from 0 ..< vocabulary.
    public var vocabulary: Int
    /// Embedding dimensions per token.
    public var dimension: Int
    /// Tokens per example (the input layer is folded this many times).
    public var folds: Int

    /// An embedding of `folds` tokens, `dimension` each.
    public init(vocabulary: Int, dimension: Int, folds: Int) {
        self.vocabulary = vocabulary
        self.dimension = dimension
        self.folds = folds
    }
}

/// An MLP's shape: layer widths (the first is the input width, which with an embedding is
/// folds x dimension), the activation between layers, each layer's layout family, and an
/// optional embedding.
public struct MLPArchitecture: Sendable, Equatable, Codable {
    /// Neurons per layer, input first.
    public var widths: [Int]
    /// The hidden layers' activation.
    public var activation: Activation
    /// Where the neurons sit (lines, or grids with a ring of outputs).
    public var layout: LayoutFamily
    /// A token embedding before the first layer (nil: real inputs).
    public var embedding: EmbeddingSpec?

    /// An MLP of `widths` (defaults: SiLU, line layout, no embedding).
    public init(
        widths: [Int], activation: Activation = .silu, layout: LayoutFamily = .line, embedding: EmbeddingSpec? = nil
    ) {
        self.widths = widths
        self.activation = activation
        self.layout = layout
        self.embedding = embedding
    }

    /// Checks widths and the embedding against each other.
    public func validate() throws {
        guard widths.count >= 2, widths.allSatisfy({ $0 >= 1 }) else {
            throw BIMTError.invalidField(
                field: "architecture.widths", reason: "an MLP needs at least two positive widths, got \(widths)")
        }
        try SizeLimits.require(widths.count - 1, in: 1...SizeLimits.layers, "architecture.widths", what: "layers")
        for width in widths { try SizeLimits.require(width, in: 1...SizeLimits.neurons, "architecture.widths") }
        let weights = zip(widths, widths.dropFirst()).reduce(0.0) { $0 + Double($1.0) * Double($1.1 + 1) }
        try SizeLimits.requireValues(weights, "the MLP's parameters", field: "architecture.widths", lower: "the widths")
        if let e = embedding {
            guard e.vocabulary >= 1, e.dimension >= 1, e.folds >= 1 else {
                throw BIMTError.invalidField(field: "architecture.embedding", reason: "sizes must be >= 1, got \(e)")
            }
            try SizeLimits.require(e.vocabulary, in: 1...SizeLimits.neurons, "architecture.embedding.vocabulary")
            try SizeLimits.require(e.dimension, in: 1...SizeLimits.neurons, "architecture.embedding.dimension")
            try SizeLimits.require(e.folds, in: 1...SizeLimits.neurons, "architecture.embedding.folds")
            try SizeLimits.requireValues(
                Double(e.vocabulary) * Double(e.dimension), "the embedding table",
                field: "architecture.embedding", lower: "the vocabulary or the dimension")
            guard widths[0] == e.folds * e.dimension else {
                throw BIMTError.invalidField(
                    field: "architecture.widths",
                    reason:
                        "the input width \(widths[0]) must be \(e.folds) tokens x \(e.dimension) "
                        + "embedding dimensions = \(e.folds * e.dimension)"
                )
            }
        }
    }

    /// The spatial network: the input layer is folded by the embedding's token count, and
    /// the embedding table's columns move with the input layer's slots.
    public func spatialNetwork(swapInputs: Bool = true) throws -> SpatialNetwork {
        try validate()
        var layouts = try layout.layouts(sizes: widths)
        var offset = 0
        var neuronParameters: [NeuronParameter] = [], tables: [ParameterView] = []
        if let e = embedding {
            layouts[0] = try .line(neurons: widths[0], folds: e.folds, name: "embedded input")
            let table = ParameterView(offset: 0, rows: e.vocabulary, columns: e.dimension)
            neuronParameters.append(NeuronParameter(name: "embedding", layer: 0, view: table, alongRows: false))
            tables.append(table)
            offset = table.count
        }
        let layers = layouts.enumerated().map {
            NeuronLayer(
                name: $0.offset == 0 ? "input" : ($0.offset == layouts.count - 1 ? "output" : "hidden\($0.offset)"),
                layout: $0.element)
        }
        var connections: [SpatialConnection] = []
        for l in 0..<(widths.count - 1) {
            let weight = ParameterView(offset: offset, rows: widths[l + 1], columns: widths[l])
            let bias = ParameterView(offset: offset + weight.count, rows: widths[l + 1])
            offset += weight.count + bias.count
            connections.append(
                SpatialConnection(name: "layers.\(l)", input: l, output: l + 1, weight: weight, bias: bias))
        }
        return try SpatialNetwork(
            layers: layers, connections: connections, neuronParameters: neuronParameters,
            embeddingTables: tables,
            groups: swapInputs ? [] : [SwapGroup(layers: [0], swappable: false)])
    }
}
