@testable import BIMT
import BIMTCompute
import Testing

/// Relocates a copy of `parameters` on `device`; returns the new network and parameters.
func relocateOnDevice(
    _ network: SpatialNetwork, _ parameters: [Float], settings: CostSettings, device: Device,
    relocation: RelocationSettings
) throws -> (SpatialNetwork, [Float], RelocationReport) {
    let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
    let p = try device.makeBuffer(parameters)
    let report = try geometry.relocate(parameters: p.whole, settings: relocation)
    return (geometry.network, try device.read(p.whole), report)
}

@Suite("Swap scores and relocation")
struct RelocationTests {
    @Test("every swap delta equals the cost change of actually swapping", arguments: [1, 2])
    func deltasMatchSwaps(inputFolds: Int) throws {
        let (network, parameters) = try randomMLP([6, 7, 5, 4], kind: .grid, inputFolds: inputFolds, seed: 31)
        for reduction in CostReduction.allCases {
            let settings = CostSettings(weightFactor: 1.5, l0: 0.2, reduction: reduction)
            let base = NaiveRelocation.cost(network: network, settings: settings, parameters: parameters)
            for device in try TestDevices.all() {
                let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
                let p = try device.makeBuffer(parameters)
                for group in network.groups {
                    let m = network.layers[group.layers[0]].layout.slots
                    let (scores, _) = try #require(try geometry.scoreGroup(group, parameters: p.whole))
                    let c = try device.makeBuffer(scores.map(Float.init)), d = try device.makeBuffer(count: m * m)
                    try device.swapDeltas(scores: c.whole, units: m, deltas: d.whole)
                    let deltas = try device.read(d.whole)
                    for j in 0..<m {
                        for k in 0..<m {
                            var net = network, swapped = parameters
                            NaiveRelocation.apply(
                                units: NaiveRelocation.transposition(m, j, k), group: group,
                                network: &net, parameters: &swapped)
                            let actual =
                                NaiveRelocation.cost(network: net, settings: settings, parameters: swapped) - base
                            #expect(
                                abs(Double(deltas[j * m + k]) - actual) <= 1e-5 * max(1, base),
                                """
                                \(device.name) \(reduction) layer \(group.layers) swap \(j)<->\(k): \
                                \(deltas[j * m + k]) vs \(actual)
                                """
                            )
                        }
                    }
                }
            }
        }
    }

    @Test(
        "greedy makes the same decisions as the paper's naive procedure",
        arguments: [([6, 10, 9, 5], 1, UInt64(1)), ([8, 12, 7], 2, UInt64(2)), ([5, 9, 9, 9, 3], 1, UInt64(3))])
    func greedyMatchesNaive(sizes: [Int], inputFolds: Int, seed: UInt64) throws {
        let (network, parameters) = try randomMLP(sizes, kind: .line, inputFolds: inputFolds, seed: seed)
        let settings = CostSettings(weightFactor: 1, l0: 0.1, reduction: seed == 2 ? .mean : .sum)
        var naiveNetwork = network, naiveParameters = parameters
        NaiveRelocation.relocate(network: &naiveNetwork, settings: settings, parameters: &naiveParameters, topK: 4)
        #expect(naiveNetwork.permutations != network.permutations, "the oracle moved nothing: a weak test case")
        for device in try TestDevices.all() {
            let (relocated, values, _) = try relocateOnDevice(
                network, parameters, settings: settings, device: device,
                relocation: RelocationSettings(method: .greedy, topK: 4))
            #expect(relocated.permutations == naiveNetwork.permutations, "\(device.name)")
            #expect(values == naiveParameters, "\(device.name): parameters differ from the oracle's")
        }
    }

    @Test(
        "assignment is optimal for one layer: equal to brute force over all permutations (n <= 7)",
        arguments: [5, 6, 7])
    func assignmentMatchesBruteForce(hidden: Int) throws {
        let groups = [SwapGroup(layers: [0], swappable: false), SwapGroup(layers: [2], swappable: false)]
        let (network, parameters) = try randomMLP([4, hidden, 3], kind: .ring, seed: UInt64(hidden), groups: groups)
        let settings = CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean)
        let hiddenGroup = try #require(network.groups.first { $0.layers == [1] })
        var best = Double.infinity
        var permutation = Array(0..<hidden)
        func search(_ position: Int) {
            if position == hidden {
                var net = network, values = parameters
                NaiveRelocation.apply(units: permutation, group: hiddenGroup, network: &net, parameters: &values)
                best = min(best, NaiveRelocation.cost(network: net, settings: settings, parameters: values))
                return
            }
            for i in position..<hidden {
                permutation.swapAt(position, i)
                search(position + 1)
                permutation.swapAt(position, i)
            }
        }
        search(0)
        for device in try TestDevices.all() {
            let (assigned, values, _) = try relocateOnDevice(
                network, parameters, settings: settings, device: device,
                relocation: RelocationSettings(method: .assignment))
            let assignedCost = NaiveRelocation.cost(network: assigned, settings: settings, parameters: values)
            expectClose(assignedCost, best, relative: 1e-6, "\(device.name) assignment vs brute force")
            let (greedy, greedyValues, _) = try relocateOnDevice(
                network, parameters, settings: settings, device: device,
                relocation: RelocationSettings(method: .greedy, topK: hidden))
            #expect(
                assignedCost <= NaiveRelocation.cost(network: greedy, settings: settings, parameters: greedyValues)
                    + 1e-9)
        }
    }

    @Test("the linear assignment solver finds the optimum of random matrices")
    func assignmentSolver() throws {
        var generator = SeededGenerator(seed: 12)
        for n in 1...7 {
            let costs = (0..<(n * n)).map { _ in Double.random(in: 0..<10, using: &generator) }
            let slot = try LinearAssignment.solve(costs: costs, size: n)
            #expect(Set(slot).count == n)
            let found = slot.enumerated().reduce(0.0) { $0 + costs[$1.offset * n + $1.element] }
            var best = Double.infinity, perm = Array(0..<n)
            func search(_ k: Int) {
                if k == n {
                    best = min(best, perm.enumerated().reduce(0.0) { $0 + costs[$1.offset * n + $1.element] }); return
                }
                for i in k..<n { perm.swapAt(k, i); search(k + 1); perm.swapAt(k, i) }
            }
            search(0)
            #expect(abs(found - best) < 1e-9, "n = \(n)")
        }
    }

    @Test(
        "relocation leaves the network's function unchanged, input and output swaps included",
        arguments: RelocationMethod.allCases)
    func functionInvariance(method: RelocationMethod) throws {
        let (network, parameters) = try randomMLP([7, 11, 9, 4], kind: .grid, seed: 44)
        let settings = CostSettings(weightFactor: 1, l0: 0.1)
        var generator = SeededGenerator(seed: 45)
        let inputs = (0..<5).map { _ in (0..<7).map { _ in Double.random(in: -1..<1, using: &generator) } }
        let before = inputs.map { forward(network, parameters, $0) }
        for device in try TestDevices.all() {
            let (relocated, values, report) = try relocateOnDevice(
                network, parameters, settings: settings, device: device,
                relocation: RelocationSettings(method: method, topK: 5))
            if method != .off {
                #expect(report.totalMoved > 0, "nothing moved: a weak test")
                #expect(
                    relocated.inputPermutation != network.inputPermutation
                        || relocated.outputPermutation != network.outputPermutation)
            }
            for (input, expected) in zip(inputs, before) {
                let after = forward(relocated, values, input)
                // Reordered double sums round on the scale of their terms: outputs near zero need a floor.
                for (a, e) in zip(after, expected) {
                    expectClose(a, e, relative: 1e-12, absolute: 1e-12, "\(device.name) \(method) output")
                }
            }
        }
    }

    @Test("on the CPU path a relocated MLP's outputs are bit-for-bit the same (exactly representable sums)")
    func bitForBitInvariance() throws {
        // Dyadic weights and inputs keep every partial sum exact, so any summation order gives
        // the same bits and any misplaced weight shows.
        let dyadic: (inout SeededGenerator) -> Float = { Float(Int.random(in: -16...16, using: &$0)) / 16 }
        let (network, parameters) = try randomMLP([6, 8, 7, 3], kind: .line, seed: 5, values: dyadic)
        let device = Device.cpu()
        var generator = SeededGenerator(seed: 6)
        let batch = 4
        let input = (0..<(batch * 6)).map { _ in dyadic(&generator) }
        func run(_ net: SpatialNetwork, _ values: [Float]) throws -> [Float] {
            let p = try device.makeBuffer(values)
            // Physical input column s holds logical input in_perm[s].
            var x = try device.makeBuffer((0..<batch).flatMap { b in net.inputPermutation.map { input[b * 6 + $0] } })
            for (index, c) in net.connections.enumerated() {
                let y = try device.makeBuffer(count: batch * c.weight.rows)
                try device.gemm(
                    GemmOperation(m: batch, n: c.weight.rows, k: c.weight.columns, transposeB: true),
                    a: x.whole, b: p.slice(offset: c.weight.offset, count: c.weight.count), c: y.whole)
                try device.addBias(
                    p.slice(offset: c.bias!.offset, count: c.bias!.count), to: y.whole, rows: batch,
                    columns: c.weight.rows)
                if index < net.connections.count - 1 {
                    try device.activationForward(.relu, input: y.whole, output: y.whole)
                }
                x = y
            }
            let physical = try device.read(x.whole), outputs = net.outputPermutation.count
            var logical = physical
            for b in 0..<batch {
                for s in 0..<outputs { logical[b * outputs + net.outputPermutation[s]] = physical[b * outputs + s] }
            }
            return logical
        }
        let before = try run(network, parameters)
        for method in [RelocationMethod.greedy, .assignment] {
            let (relocated, values, report) = try relocateOnDevice(
                network, parameters, settings: CostSettings(), device: device,
                relocation: RelocationSettings(method: method, topK: 6))
            #expect(report.totalMoved > 0)
            #expect(try run(relocated, values) == before, "\(method)")
        }
    }

    @Test("optimizer moments move with their neurons unless the paper's behaviour is asked for")
    func momentsMove() throws {
        let (network, parameters) = try randomMLP([5, 8, 4], kind: .line, seed: 9)
        for device in try TestDevices.all() {
            for move in [true, false] {
                let geometry = try SpatialGeometry(network: network, settings: CostSettings(), device: device)
                let p = try device.makeBuffer(parameters), m = try device.makeBuffer(parameters)
                let report = try geometry.relocate(
                    parameters: p.whole, optimizerState: [m.whole],
                    settings: RelocationSettings(method: .assignment, moveOptimizerState: move))
                #expect(report.totalMoved > 0)
                #expect(
                    try device.read(m.whole) == (move ? device.read(p.whole) : parameters),
                    "\(device.name) move \(move)")
            }
        }
    }

    @Test(
        "a shared residual permutation and head/within-head moves keep a residual network's function",
        arguments: [RelocationMethod.greedy, .assignment])
    func residualGroupAndHeads(method: RelocationMethod) throws {
        // in(5) -> A(6) -> H(4 slots x 2 folds, heads of 2 slots) -> B(6) -> out(3), with B = A + W_HB h:
        // A and B are two positions of one residual stream and must share one arrangement.
        var generator = SeededGenerator(seed: 77)
        let layers = [
            NeuronLayer(name: "in", layout: try .line(neurons: 5)),
            NeuronLayer(name: "A", layout: try .line(neurons: 6)),
            NeuronLayer(name: "H", layout: try .line(neurons: 8, folds: 2)),
            NeuronLayer(name: "B", layout: try .line(neurons: 6)),
            NeuronLayer(name: "out", layout: try .line(neurons: 3)),
        ]
        var offset = 0, connections: [SpatialConnection] = []
        for (input, output) in [(0, 1), (1, 2), (2, 3), (3, 4)] {
            let rows = layers[output].layout.neuronCount, columns = layers[input].layout.neuronCount
            connections.append(
                SpatialConnection(
                    name: "\(input)->\(output)", input: input, output: output,
                    weight: ParameterView(offset: offset, rows: rows, columns: columns),
                    bias: ParameterView(offset: offset + rows * columns, rows: rows)))
            offset += rows * columns + rows
        }
        let gain = ParameterView(offset: offset, rows: 6) // a LayerNorm-like gain on the stream
        let network = try SpatialNetwork(
            layers: layers, connections: connections,
            neuronParameters: [NeuronParameter(name: "gain", layer: 1, view: gain)],
            groups: [SwapGroup(layers: [1, 3]), SwapGroup(layers: [2], blockSize: 2)])
        let parameters = generator.uniform(offset + 6)

        func run(_ net: SpatialNetwork, _ p: [Float], _ input: [Double]) -> [Double] {
            func linear(_ c: SpatialConnection, _ x: [Double]) -> [Double] {
                (0..<c.weight.rows).map { i in
                    (0..<c.weight.columns).reduce(Double(p[c.bias!.offset + i])) {
                        $0 + Double(p[c.weight.offset + i * c.weight.columns + $1]) * x[$1]
                    }
                }
            }
            let x = net.inputPermutation.map { input[$0] }
            let a = zip(linear(net.connections[0], x), (0..<6).map { Double(p[gain.offset + $0]) }).map { $0 * $1 }
            let h = linear(net.connections[1], a).map { max($0, 0) }
            let b = zip(a, linear(net.connections[2], h)).map { $0 + $1 }
            let y = linear(net.connections[3], b)
            var logical = y
            for (s, value) in y.enumerated() { logical[net.outputPermutation[s]] = value }
            return logical
        }
        let input = (0..<5).map { _ in Double.random(in: -1..<1, using: &generator) }
        let before = run(network, parameters, input)
        for device in try TestDevices.all() {
            let (relocated, values, report) = try relocateOnDevice(
                network, parameters, settings: CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean), device: device,
                relocation: RelocationSettings(method: method, topK: 4))
            #expect(report.totalMoved > 0)
            #expect(relocated.permutations[1] == relocated.permutations[3], "the residual positions diverged")
            let units = Array(relocated.permutations[2].prefix(4))
            #expect(units[0] / 2 == units[1] / 2 && units[2] / 2 == units[3] / 2, "a head was split: \(units)")
            #expect(Array(relocated.permutations[2].suffix(4)) == units.map { $0 + 4 }, "folds moved apart")
            for (a, e) in zip(run(relocated, values, input), before) {
                expectClose(a, e, relative: 1e-12, absolute: 1e-12, "\(device.name) \(method)") // outputs near zero
            }
        }
    }
}
