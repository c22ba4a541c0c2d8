@testable import BIMT
import BIMTCompute
import Testing

@Suite("Connection cost and penalty gradient")
struct PenaltyTests {
    static let cases: [(LayoutKind, DistanceMetric, CostReduction, Int)] =
        LayoutKind.allCases.flatMap { kind in
            [(DistanceMetric.manhattan, CostReduction.sum, 1), (.manhattan, .mean, 2), (.euclidean, .sum, 2), (.euclidean, .mean, 1)]
                .map { (kind, $0.0, $0.1, $0.2) }
        }

    @Test("cost matches the double-precision reference and the gradient matches finite differences",
          arguments: cases)
    func costAndGradient(kind: LayoutKind, metric: DistanceMetric, reduction: CostReduction, folds: Int) throws {
        let (network, parameters) = try randomMLP([6, 9, 5], kind: kind, inputFolds: folds, seed: 21, lastWeightFactor: 0)
        let settings = CostSettings(weightFactor: 2, l0: 0.3, reduction: reduction, metric: metric, penalizeBiases: true)
        let lambda: Float = 0.7
        let expected = NaiveRelocation.cost(network: network, settings: settings, parameters: parameters)

        // Finite differences of the reference cost, in double precision.
        var numeric = [Double](repeating: 0, count: parameters.count)
        for i in parameters.indices where abs(parameters[i]) > 1e-3 {
            var plus = parameters, minus = parameters
            let h: Float = 1e-4
            plus[i] += h
            minus[i] -= h
            let difference = NaiveRelocation.cost(network: network, settings: settings, parameters: plus)
                - NaiveRelocation.cost(network: network, settings: settings, parameters: minus)
            numeric[i] = Double(lambda) * difference / (Double(plus[i]) - Double(minus[i]))
        }
        for device in try TestDevices.all() {
            let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
            let p = try device.makeBuffer(parameters), g = try device.makeBuffer([Float](repeating: 0, count: parameters.count))
            let cost = try device.makeBuffer([0])
            try geometry.penalty(parameters: p.whole, gradient: g.whole, lambda: lambda, cost: cost.whole)
            expectClose(Double(try device.read(cost.whole)[0]), expected, relative: 1e-5, "\(device.name) cost")
            let gradient = try device.read(g.whole)
            for i in parameters.indices where abs(parameters[i]) > 1e-3 {
                let bound = 1e-3 * max(1e-3, abs(numeric[i]))
                if abs(Double(gradient[i]) - numeric[i]) > bound {
                    Issue.record("\(device.name) \(kind) \(metric) \(reduction): gradient[\(i)] = \(gradient[i]), finite difference \(numeric[i])")
                    break
                }
            }
            #expect(try geometry.cost(parameters: p.whole) > 0)
        }
    }

    @Test("embedding tables pay l0 * |E|; biases pay only when penalized; wf 0 leaves plain L1")
    func extraTerms() throws {
        let layers = [NeuronLayer(name: "embedded", layout: try .line(neurons: 4, folds: 2)),
                      NeuronLayer(name: "out", layout: try .line(neurons: 3))]
        let table = ParameterView(offset: 0, rows: 5, columns: 2)   // vocabulary 5, 2 slots
        let weight = ParameterView(offset: 10, rows: 3, columns: 4), bias = ParameterView(offset: 22, rows: 3)
        let network = try SpatialNetwork(
            layers: layers,
            connections: [SpatialConnection(name: "fc", input: 0, output: 1, weight: weight, bias: bias, weightFactor: 0)],
            neuronParameters: [NeuronParameter(name: "embedding", layer: 0, view: table, alongRows: false)],
            embeddingTables: [table])
        var generator = SeededGenerator(seed: 4)
        let parameters = generator.uniform(25)
        let absSum = { (v: ParameterView) in (v.offset..<(v.offset + v.count)).reduce(0.0) { $0 + abs(Double(parameters[$1])) } }
        for penalizeBiases in [false, true] {
            let settings = CostSettings(weightFactor: 3, l0: 0.5, reduction: .sum, penalizeBiases: penalizeBiases)
            let expected = 0.5 * (absSum(weight) + absSum(table) + (penalizeBiases ? absSum(bias) : 0))
            expectClose(NaiveRelocation.cost(network: network, settings: settings, parameters: parameters), expected,
                        relative: 1e-12, "reference")
            for device in try TestDevices.all() {
                let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
                expectClose(try geometry.cost(parameters: try device.makeBuffer(parameters).whole), expected,
                            relative: 1e-5, "\(device.name) biases \(penalizeBiases)")
            }
        }
    }

    @Test("OpenCL penalty and swap scores match the CPU path on odd sizes",
          requiresOpenCL)
    func openCLMatchesCPU() throws {
        let cpu = Device.cpu()
        // tiled: the GPU-shaped kernels (simple swap_scores); vector: the CPU-device ones.
        for variant in [GemmVariant.tiled, .vector] {
            try compare(cpu, try Device.open(.anyOpenCL, gemmVariant: variant).device)
        }
    }

    func compare(_ cpu: Device, _ opencl: Device) throws {
        var generator = SeededGenerator(seed: 8)
        let (rows, columns) = (37, 129)
        let weights = generator.uniform(rows * columns), prior = generator.uniform(rows * columns)
        let co = generator.uniform(2 * rows, 0, 1), ci = generator.uniform(2 * columns, 0, 1)
        for metric in DistanceMetric.allCases {
            let pass = ConnectionCostPass(rows: rows, columns: columns, weightFactor: 2, l0: 0.5,
                                          costScale: 1 / Float(rows * columns), gradientScale: 0.1, metric: metric)
            var results: [[Float]] = []
            for device in [cpu, opencl] {
                let g = try device.makeBuffer(prior), cost = try device.makeBuffer([0.25])
                try device.connectionCost(pass, weights: try device.makeBuffer(weights).whole, gradient: g.whole,
                                          outCoordinates: try device.makeBuffer(co).whole,
                                          inCoordinates: try device.makeBuffer(ci).whole, cost: cost.whole)
                results.append(try device.read(cost.whole) + device.read(g.whole))
            }
            #expect(maxRelativeError(results[1], results[0]) < 1e-5, "penalty \(metric)")

            // Swap scores of a folded layer (13 units x 3 folds), incoming and outgoing.
            let (units, folds, others) = (13, 3, 29)
            let wIn = generator.uniform(units * folds * others), slots = generator.uniform(2 * units, 0, 1)
            let otherCoordinates = generator.uniform(2 * others, 0, 1)
            var scores: [[Float]] = []
            for device in [cpu, opencl] {
                let c = try device.makeBuffer(count: units * units), w = try device.makeBuffer(wIn)
                let s = try device.makeBuffer(slots), o = try device.makeBuffer(otherCoordinates)
                try device.swapScores(SwapScorePass(units: units, folds: folds, otherCount: others, rowStride: others,
                                                    otherStride: 1, scale: 0.5, metric: metric, accumulate: false),
                                      weights: w.whole, slotCoordinates: s.whole, otherCoordinates: o.whole, scores: c.whole)
                try device.swapScores(SwapScorePass(units: units, folds: folds, otherCount: others, rowStride: 1,
                                                    otherStride: units * folds, scale: 2, metric: metric, accumulate: true),
                                      weights: w.whole, slotCoordinates: s.whole, otherCoordinates: o.whole, scores: c.whole)
                let d = try device.makeBuffer(count: units * units), sums = try device.makeBuffer(count: units)
                try device.swapDeltas(scores: c.whole, units: units, deltas: d.whole)
                try device.unitAbsoluteSums(SwapScorePass(units: units, folds: folds, otherCount: others, rowStride: others,
                                                          otherStride: 1, scale: 1, accumulate: false),
                                            weights: w.whole, sums: sums.whole)
                scores.append(try device.read(c.whole) + device.read(d.whole) + device.read(sums.whole))
            }
            #expect(maxRelativeError(scores[1], scores[0]) < 1e-5, "swap scores \(metric)")
        }
    }

    @Test("mismatched operands are thrown errors")
    func badInput() throws {
        let device = Device.cpu()
        let w = try device.makeBuffer(count: 12), c = try device.makeBuffer(count: 1)
        let pass = ConnectionCostPass(rows: 3, columns: 4, weightFactor: 1, l0: 0, costScale: 1, gradientScale: 1)
        #expect(throws: ComputeError.self) {
            try device.connectionCost(pass, weights: w.whole, gradient: nil, outCoordinates: try device.makeBuffer(count: 5).whole,
                                      inCoordinates: try device.makeBuffer(count: 8).whole, cost: c.whole)
        }
        #expect(throws: ComputeError.self) {
            try device.swapScores(SwapScorePass(units: 4, folds: 1, otherCount: 4, rowStride: 4, otherStride: 1, scale: 1,
                                                accumulate: false),
                                  weights: try device.makeBuffer(count: 15).whole, slotCoordinates: try device.makeBuffer(count: 8).whole,
                                  otherCoordinates: try device.makeBuffer(count: 8).whole, scores: try device.makeBuffer(count: 16).whole)
        }
        #expect(throws: ComputeError.self) {
            try device.permute(w.whole, rows: 3, columns: 4, permutation: [0, 0, 1], alongRows: true)
        }
    }
}
