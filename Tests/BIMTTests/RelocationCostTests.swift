@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// The cost the swap search minimizes is its own setting: the paper scores swaps with wf on
/// every matrix even where training leaves the last matrix out (the image model).
@Suite("Relocation cost")
struct RelocationCostTests {
    /// An image-style MLP (4x4 grid -> 3x3 grid -> 3x3 grid -> ring of 6) whose hidden and
    /// input layers are frozen, so that only the outputs can move.
    func outputsOnly(seed: UInt64) throws -> (SpatialNetwork, [Float]) {
        let full = try MLPArchitecture(widths: [16, 9, 9, 6], layout: .grid).spatialNetwork(swapInputs: false)
        let network = try SpatialNetwork(
            layers: full.layers, connections: full.connections,
            groups: (0..<3).map { SwapGroup(layers: [$0], swappable: false) })
        var generator = SeededGenerator(seed: seed)
        let values = (0..<network.parameterExtent).map { _ in Float.random(in: -1..<1, using: &generator) }
        return (network, values)
    }

    static let training = CostSettings(
        weightFactor: 2, l0: 0.5, reduction: .mean, penalizeBiases: true, lastWeightFactor: 0)

    @Test("with wf 0 on the last matrix in training, an output neuron moves only when that lowers the relocation cost")
    func outputsMoveOnlyDownhill() throws {
        let relocationCost = Self.training.penalizingLast
        var movedSomewhere = false
        for device in try TestDevices.all() {
            for seed in UInt64(1)...6 {
                let (network, parameters) = try outputsOnly(seed: seed)
                let geometry = try SpatialGeometry(network: network, settings: Self.training, device: device)
                #expect(geometry.relocationSettings == relocationCost)
                let buffer = try device.makeBuffer(parameters)
                let before = NaiveRelocation.cost(network: network, settings: relocationCost, parameters: parameters)
                _ = try geometry.relocate(
                    parameters: buffer.whole, settings: RelocationSettings(method: .greedy, topK: 6))
                let after = NaiveRelocation.cost(
                    network: geometry.network, settings: relocationCost,
                    parameters: try device.read(buffer.whole))
                if geometry.network.outputPermutation != network.outputPermutation {
                    movedSomewhere = true
                    #expect(
                        after < before - 1e-7,
                        "\(device.name) seed \(seed): outputs moved but the cost went \(before) -> \(after)")
                } else {
                    #expect(after == before)
                }
                // The same network relocated again from its new arrangement by the exact
                // solver: no output moves unless that still lowers the cost.
                let again = try device.makeBuffer(try device.read(buffer.whole))
                let second = try SpatialGeometry(network: geometry.network, settings: Self.training, device: device)
                _ = try second.relocate(parameters: again.whole, settings: RelocationSettings(method: .assignment))
                let third = NaiveRelocation.cost(
                    network: second.network, settings: relocationCost, parameters: try device.read(again.whole))
                #expect(third <= after + 1e-7 * max(1, after), "\(device.name) seed \(seed)")
            }
        }
        #expect(movedSomewhere, "no output ever moved: a weak test")
    }

    @Test(
        """
        scored with the training cost instead (wf 0 on the last matrix), \
        every output swap ties and outputs move for nothing
        """
    )
    func trainingCostTiesEverything() throws {
        // The failure the relocation cost prevents: the first-minimum rule picks slot 0.
        let device = Device.cpu()
        let (network, parameters) = try outputsOnly(seed: 3)
        let geometry = try SpatialGeometry(
            network: network, settings: Self.training, relocationSettings: Self.training,
            device: device)
        let buffer = try device.makeBuffer(parameters)
        _ = try geometry.relocate(parameters: buffer.whole, settings: RelocationSettings(method: .greedy, topK: 6))
        #expect(geometry.network.outputPermutation != network.outputPermutation)
        let trainingCost = { (n: SpatialNetwork, p: [Float]) in
            NaiveRelocation.cost(network: n, settings: Self.training, parameters: p)
        }
        expectClose(
            trainingCost(geometry.network, try device.read(buffer.whole)), trainingCost(network, parameters),
            relative: 1e-6, "training cost")
    }

    @Test("presets carry the paper's training and relocation costs")
    func presetCosts() throws {
        let symbolic = try TrainingConfiguration.preset("independence")
        #expect(
            symbolic.cost == CostSettings(weightFactor: 1, l0: 0.1, reduction: .sum) && symbolic.biasPenaltyFrom == 0.75
        )
        #expect(
            symbolic.relocationCost == CostSettings(weightFactor: 1, l0: 0.1, reduction: .sum, penalizeBiases: true))
        let moons = try TrainingConfiguration.preset("two-moons")
        #expect(
            moons.cost == CostSettings(weightFactor: 1, l0: 0.2, reduction: .sum, penalizeBiases: true)
                && moons.biasPenaltyFrom == nil)
        #expect(moons.relocationCost == moons.cost && moons.relocation.topK == 10 && moons.steps == 10001)
        #expect(moons.lambdaSchedule == [LambdaChange(fraction: 0.5, factor: 10)] && moons.learningRate == 2e-3)
        let paper = CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean, penalizeBiases: true)
        let modadd = try TrainingConfiguration.preset("modadd")
        #expect(modadd.cost == paper && modadd.relocationCost == paper)
        let s4 = try TrainingConfiguration.preset("s4")
        #expect(s4.cost.weightFactor == 1 && s4.cost.penalizeBiases && s4.relocationCost == paper)
        for name in ["mnist", "convnet"] {
            let image = try TrainingConfiguration.preset(name)
            #expect(image.cost.lastWeightFactor == 0 && image.cost.penalizeBiases, "\(name)")
            #expect(image.relocationCost == paper, "\(name)")
        }
        let incontext = try TrainingConfiguration.preset("incontext")
        #expect(incontext.cost == paper && incontext.relocationCost == paper)
    }

    @Test("config.json keeps both costs; a file of an earlier version (noPenalizeLast, no relocationCost) still loads")
    func configurationFormat() throws {
        let mnist = try TrainingConfiguration.preset("mnist")
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(mnist))
        #expect(decoded == mnist)
        var old = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(mnist)) as? [String: Any])
        old["relocationCost"] = nil
        old["noPenalizeLast"] = true
        var oldCost = try #require(old["cost"] as? [String: Any])
        oldCost["lastWeightFactor"] = nil
        old["cost"] = oldCost
        let legacy = try JSONDecoder().decode(
            TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: old))
        #expect(legacy.cost.lastWeightFactor == 0)
        #expect(legacy.relocationCost == legacy.cost.penalizingLast)
        let overridden = try ConfigurationFile.apply(
            data: Data(#"{"relocationCost": {"weightFactor": 3, "lastWeightFactor": 1}}"#.utf8), path: "override.json",
            over: mnist)
        #expect(overridden.relocationCost.weightFactor == 3 && overridden.relocationCost.lastWeightFactor == 1)
        #expect(overridden.cost == mnist.cost)
        var bad = mnist
        bad.relocationCost.lastWeightFactor = -1
        #expect(throws: BIMTError.self) { try bad.validate() }
    }
}

/// bimt's greedy relocation against golden decisions from an independent float64 PyTorch
/// implementation of the paper's procedure (scripts/golden/relocation_golden.py): trial
/// swaps that recompute the whole network's cost, the reference's candidate ranking and
/// ties (dead neurons), folded inputs, grids and a ring.
@Suite("Relocation golden decisions")
struct RelocationGoldenTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            struct Settings: Decodable {
                let weightFactor: Float, l0: Float, reduction: String, penalizeBiases: Bool, lastWeightFactor: Float?
            }
            struct Initial: Decodable { let weights: [[Double]], biases: [[Double]] }
            let name: String, sizes: [Int], layouts: [String], folds: [Int], settings: Settings, topK: Int,
                swapInputs: Bool
            let initial: Initial, permutations: [[Int]], finalWeights: [[Double]], finalBiases: [[Double]]
        }
        let cases: [Case]
    }

    static func load() throws -> Golden {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appending(path: "Golden/relocation-greedy.json")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    @Test("greedy relocation makes the reference's moves (PyTorch float64 golden decisions)")
    func goldenDecisions() throws {
        let golden = try Self.load()
        #expect(golden.cases.count == 4)
        for device in try TestDevices.all() {
            for g in golden.cases {
                let layers = try g.sizes.indices.map { l -> NeuronLayer in
                    let n = g.sizes[l], f = g.folds[l]
                    let layout: NeuronLayout =
                        switch g.layouts[l] {
                        case "grid": try .grid(neurons: n, folds: f)
                        case "ring": try .ring(neurons: n, folds: f)
                        default: try .line(neurons: n, folds: f)
                        }
                    return NeuronLayer(name: "layer \(l)", layout: layout)
                }
                var connections: [SpatialConnection] = [], values: [Float] = []
                for l in 0..<(g.sizes.count - 1) {
                    let weight = ParameterView(offset: values.count, rows: g.sizes[l + 1], columns: g.sizes[l])
                    values += g.initial.weights[l].map(Float.init)
                    let bias = ParameterView(offset: values.count, rows: g.sizes[l + 1])
                    values += g.initial.biases[l].map(Float.init)
                    connections.append(
                        SpatialConnection(name: "layers.\(l)", input: l, output: l + 1, weight: weight, bias: bias))
                }
                let network = try SpatialNetwork(
                    layers: layers, connections: connections,
                    groups: g.swapInputs ? [] : [SwapGroup(layers: [0], swappable: false)])
                let s = g.settings
                let settings = CostSettings(
                    weightFactor: s.weightFactor, l0: s.l0, reduction: CostReduction(rawValue: s.reduction)!,
                    penalizeBiases: s.penalizeBiases, lastWeightFactor: s.lastWeightFactor)
                let (relocated, parameters, _) = try relocateOnDevice(
                    network, values, settings: settings, device: device,
                    relocation: RelocationSettings(method: .greedy, topK: g.topK))
                #expect(relocated.permutations == g.permutations, "\(device.name), \(g.name)")
                let expected = zip(g.finalWeights, g.finalBiases).flatMap { $0 + $1 }.map(Float.init)
                #expect(parameters == expected, "\(device.name), \(g.name): parameters differ from the reference's")
            }
        }
    }
}
