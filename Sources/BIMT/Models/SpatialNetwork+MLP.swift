import BIMTCompute

extension SpatialNetwork {
    /// PyTorch's default `nn.Linear` initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
    /// weights and biases, from a seeded generator.
    public func initialParameters(seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        var parameters = [Float](repeating: 0, count: parameterExtent)
        for c in connections {
            let bound = 1 / Float(c.weight.columns).squareRoot()
            for i in 0..<c.weight.count {
                parameters[c.weight.offset + i] = Float.random(in: -bound..<bound, using: &generator)
            }
            if let bias = c.bias {
                for i in 0..<bias.count {
                    parameters[bias.offset + i] = Float.random(in: -bound..<bound, using: &generator)
                }
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

    /// One layout per layer of `sizes` in this family.
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
