import BIMTCompute

extension SpatialNetwork {
    /// A multilayer perceptron over the given layouts: connection l maps layer l to l+1 with
    /// `layers.{l}.weight` [n_{l+1}, n_l] then `layers.{l}.bias` [n_{l+1}], laid out in that
    /// order in one flat parameter buffer (PyTorch's `nn.Linear` convention).
    /// `swapInputs: false` freezes the input layer (image pixels stay on their grid).
    public static func multilayerPerceptron(layouts: [NeuronLayout], swapInputs: Bool = true,
                                            lastWeightFactor: Float? = nil) throws -> SpatialNetwork {
        guard layouts.count >= 2 else { throw BIMTError.invalidSetting("an MLP needs at least 2 layers, got \(layouts.count)") }
        let layers = layouts.enumerated().map { NeuronLayer(name: $0.offset == 0 ? "input" : ($0.offset == layouts.count - 1 ? "output" : "hidden\($0.offset)"), layout: $0.element) }
        var connections: [SpatialConnection] = [], offset = 0
        for l in 0..<(layouts.count - 1) {
            let rows = layouts[l + 1].neuronCount, columns = layouts[l].neuronCount
            let weight = ParameterView(offset: offset, rows: rows, columns: columns)
            let bias = ParameterView(offset: offset + rows * columns, rows: rows)
            offset += rows * columns + rows
            connections.append(SpatialConnection(name: "layers.\(l)", input: l, output: l + 1, weight: weight, bias: bias,
                                                 weightFactor: l == layouts.count - 2 ? lastWeightFactor : nil))
        }
        return try SpatialNetwork(layers: layers, connections: connections,
                                  groups: swapInputs ? [] : [SwapGroup(layers: [0], swappable: false)])
    }

    /// PyTorch's default `nn.Linear` initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
    /// weights and biases, from a seeded generator.
    public func initialParameters(seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var parameters = [Float](repeating: 0, count: parameterExtent)
        for c in connections {
            let bound = 1 / Float(c.weight.columns).squareRoot()
            for i in 0..<c.weight.count { parameters[c.weight.offset + i] = Float.random(in: -bound..<bound, using: &generator) }
            if let bias = c.bias {
                for i in 0..<bias.count { parameters[bias.offset + i] = Float.random(in: -bound..<bound, using: &generator) }
            }
        }
        return parameters
    }
}

/// Layout shapes a command line can name for every layer of an MLP.
public enum LayoutFamily: String, Sendable, CaseIterable, Codable {
    case line
    /// Square grids where the size is a square; a ring for the last layer otherwise (the
    /// paper's 10 image classes), else a line.
    case grid

    public func layouts(sizes: [Int]) throws -> [NeuronLayout] {
        try sizes.enumerated().map { index, n in
            let name = "layer \(index) (\(n) neurons)"
            switch self {
            case .line: return try .line(neurons: n, name: name)
            case .grid:
                let side = Int(Double(n).squareRoot().rounded())
                if side * side == n { return try .grid(neurons: n, name: name) }
                return index == sizes.count - 1 ? try .ring(neurons: n, name: name) : try .line(neurons: n, name: name)
            }
        }
    }
}
