@testable import BIMT
import BIMTCompute
import Testing

@Suite("Connection cost and penalty gradient")
struct ConnectionCostModelTests {
    static let cases: [(LayoutKind, DistanceMetric, CostReduction, Int)] =
        LayoutKind.allCases.flatMap { kind in
            [
                (DistanceMetric.manhattan, CostReduction.sum, 1), (.manhattan, .mean, 2), (.euclidean, .sum, 2),
                (.euclidean, .mean, 1),
            ]
            .map { (kind, $0.0, $0.1, $0.2) }
        }

    @Test(
        "cost matches the double-precision reference and the gradient matches finite differences",
        arguments: cases)
    func costAndGradient(kind: LayoutKind, metric: DistanceMetric, reduction: CostReduction, folds: Int) throws {
        let (network, parameters) = try randomMLP(
            [6, 9, 5], kind: kind, inputFolds: folds, seed: 21,
            lastWeightFactor: 0)
        let settings = CostSettings(
            weightFactor: 2, l0: 0.3, reduction: reduction, metric: metric,
            penalizeBiases: true)
        let lambda: Float = 0.7
        let expected = NaiveRelocation.cost(network: network, settings: settings, parameters: parameters)

        // Finite differences of the reference cost, in double precision.
        var numeric = [Double](repeating: 0, count: parameters.count)
        for i in parameters.indices where abs(parameters[i]) > 1e-3 {
            var plus = parameters, minus = parameters
            let h: Float = 1e-4
            plus[i] += h
            minus[i] -= h
            let difference =
                NaiveRelocation.cost(network: network, settings: settings, parameters: plus)
                - NaiveRelocation.cost(network: network, settings: settings, parameters: minus)
            numeric[i] = Double(lambda) * difference / (Double(plus[i]) - Double(minus[i]))
        }
        for device in try TestDevices.all() {
            let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
            let p = try device.makeBuffer(parameters)
            let g = try device.makeBuffer([Float](repeating: 0, count: parameters.count))
            let cost = try device.makeBuffer([0])
            try geometry.connectionCost(parameters: p.whole, gradient: g.whole, lambda: lambda, cost: cost.whole)
            expectClose(Double(try device.read(cost.whole)[0]), expected, relative: 1e-5, "\(device.name) cost")
            let gradient = try device.read(g.whole)
            for i in parameters.indices where abs(parameters[i]) > 1e-3 {
                let bound = 1e-3 * max(1e-3, abs(numeric[i]))
                if abs(Double(gradient[i]) - numeric[i]) > bound {
                    let text =
                        "\(device.name) \(kind) \(metric) \(reduction): gradient[\(i)] = \(gradient[i]), "
                        + "finite difference \(numeric[i])"
                    Issue.record(Comment(rawValue: text))
                    break
                }
            }
            #expect(try geometry.cost(parameters: p.whole) > 0)
        }
    }

    @Test("embedding tables pay l0 * |E|; biases pay only when penalized; wf 0 leaves plain L1")
    func extraTerms() throws {
        let layers = [
            NeuronLayer(name: "embedded", layout: try .line(neurons: 4, folds: 2)),
            NeuronLayer(name: "out", layout: try .line(neurons: 3)),
        ]
        let table = ParameterView(offset: 0, rows: 5, columns: 2) // vocabulary 5, 2 slots
        let weight = ParameterView(offset: 10, rows: 3, columns: 4), bias = ParameterView(offset: 22, rows: 3)
        let network = try SpatialNetwork(
            layers: layers,
            connections: [
                SpatialConnection(
                    name: "fc", input: 0, output: 1, weight: weight, bias: bias,
                    weightFactor: 0)
            ],
            neuronParameters: [NeuronParameter(name: "embedding", layer: 0, view: table, alongRows: false)],
            embeddingTables: [table])
        var generator = SeededGenerator(seed: 4)
        let parameters = generator.uniform(25)
        let absSum = { (v: ParameterView) in
            (v.offset..<(v.offset + v.count)).reduce(0.0) { $0 + abs(Double(parameters[$1])) }
        }
        for penalizeBiases in [false, true] {
            let settings = CostSettings(weightFactor: 3, l0: 0.5, reduction: .sum, penalizeBiases: penalizeBiases)
            let expected = 0.5 * (absSum(weight) + absSum(table) + (penalizeBiases ? absSum(bias) : 0))
            expectClose(
                NaiveRelocation.cost(network: network, settings: settings, parameters: parameters), expected,
                relative: 1e-12, "reference")
            for device in try TestDevices.all() {
                let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
                expectClose(
                    try geometry.cost(parameters: try device.makeBuffer(parameters).whole), expected,
                    relative: 1e-5, "\(device.name) biases \(penalizeBiases)")
            }
        }
    }
}
