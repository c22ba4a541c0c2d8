@testable import BIMT
import BIMTCompute
import Testing
@_exported import TestSupport

enum LayoutKind: CaseIterable { case line, grid, ring, custom }

func layout(_ kind: LayoutKind, neurons: Int, folds: Int = 1, generator: inout SeededGenerator) throws -> NeuronLayout {
    switch kind {
    case .line: return try .line(neurons: neurons, folds: folds)
    case .grid: return try .grid(neurons: neurons, width: neurons / folds % 3 == 0 ? 3 : 1, folds: folds)
    case .ring: return try .ring(neurons: neurons, folds: folds)
    case .custom:
        return try .custom(
            (0..<(neurons / folds)).map { _ in
                SIMD2(
                    Float.random(in: 0..<1, using: &generator),
                    Float.random(in: 0..<1, using: &generator))
            },
            folds: folds)
    }
}

/// A random MLP-shaped spatial network over one flat parameter array: connection l maps
/// layer l to layer l+1 with weight [n_{l+1}, n_l] then bias [n_{l+1}].
func randomMLP(
    _ sizes: [Int], kind: LayoutKind = .line, inputFolds: Int = 1, seed: UInt64,
    groups: [SwapGroup] = [], lastWeightFactor: Float? = nil,
    values: ((inout SeededGenerator) -> Float)? = nil
) throws -> (SpatialNetwork, [Float]) {
    var generator = SeededGenerator(seed: seed)
    let layers = try sizes.enumerated().map { index, n in
        NeuronLayer(
            name: "layer\(index)",
            layout: try layout(
                kind, neurons: n, folds: index == 0 ? inputFolds : 1,
                generator: &generator))
    }
    var connections: [SpatialConnection] = [], offset = 0
    for l in 0..<(sizes.count - 1) {
        let weight = ParameterView(offset: offset, rows: sizes[l + 1], columns: sizes[l])
        offset += weight.count
        let bias = ParameterView(offset: offset, rows: sizes[l + 1])
        offset += bias.count
        connections.append(
            SpatialConnection(
                name: "linear\(l)", input: l, output: l + 1, weight: weight, bias: bias,
                weightFactor: l == sizes.count - 2 ? lastWeightFactor : nil))
    }
    let parameters = (0..<offset).map { _ in values?(&generator) ?? Float.random(in: -1..<1, using: &generator) }
    return (try SpatialNetwork(layers: layers, connections: connections, groups: groups), parameters)
}

/// Forward pass of the MLP in double precision on host parameters: ReLU between layers.
/// `input` is in logical order; the result is in logical order (through in/out perms).
func forward(_ network: SpatialNetwork, _ parameters: [Float], _ input: [Double]) -> [Double] {
    var x = network.inputPermutation.map { input[$0] }
    for (index, c) in network.connections.enumerated() {
        var y = [Double](repeating: 0, count: c.weight.rows)
        for i in 0..<c.weight.rows {
            var sum = c.bias.map { Double(parameters[$0.offset + i]) } ?? 0
            for j in 0..<c.weight.columns {
                sum += Double(parameters[c.weight.offset + i * c.weight.columns + j]) * x[j]
            }
            y[i] = index == network.connections.count - 1 ? sum : max(sum, 0)
        }
        x = y
    }
    var logical = [Double](repeating: 0, count: x.count)
    for (s, value) in x.enumerated() { logical[network.outputPermutation[s]] = value }
    return logical
}
