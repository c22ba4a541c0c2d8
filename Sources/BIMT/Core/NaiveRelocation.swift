/// The paper's reference procedures on host memory, in double precision: the whole
/// network's connection cost, and relocation by trial swaps (swap, recompute the whole
/// network's cost, swap back, for every candidate). Slow by design: the oracle the tests
/// hold the batched swap scores to, and the baseline `bimt bench bimt` measures against.
public enum NaiveRelocation {
    /// The total connection cost (weights, biases when penalized, embedding tables).
    public static func cost(network: SpatialNetwork, settings: CostSettings, parameters: [Float]) -> Double {
        var total = 0.0
        for c in network.connections {
            let outs = network.layers[c.output].layout, ins = network.layers[c.input].layout
            let wf = Double(network.weightFactor(of: c, under: settings)), l0 = Double(settings.l0)
            var sum = 0.0
            for i in 0..<c.weight.rows {
                let a = outs.slotCoordinates[i % outs.slots]
                for j in 0..<c.weight.columns {
                    let w = parameters[c.weight.offset + i * c.weight.columns + j]
                    let d = NeuronLayout.distance(a, ins.slotCoordinates[j % ins.slots], metric: settings.metric)
                    sum += abs(Double(w)) * (wf * d + l0)
                }
            }
            total += sum * Double(settings.scale(count: c.weight.count))
            if settings.penalizeBiases, let bias = c.bias {
                total += l1(parameters, bias) * l0 * Double(settings.scale(count: bias.count))
            }
        }
        for table in network.embeddingTables {
            total += l1(parameters, table) * Double(settings.l0) * Double(settings.scale(count: table.count))
        }
        return total
    }

    private static func l1(_ parameters: [Float], _ v: ParameterView) -> Double {
        (v.offset..<(v.offset + v.count)).reduce(0) { $0 + abs(Double(parameters[$1])) }
    }

    /// The paper's greedy relocation, by trial swaps. `cost` defaults to `cost(network:settings:parameters:)`.
    public static func relocate(
        network: inout SpatialNetwork, settings: CostSettings, parameters: inout [Float],
        topK: Int, cost: ((SpatialNetwork, [Float]) -> Double)? = nil
    ) {
        let evaluate = cost ?? { NaiveRelocation.cost(network: $0, settings: settings, parameters: $1) }
        let order = network.groups.indices.sorted {
            network.groups[$0].layers.min()! < network.groups[$1].layers.min()!
        }
        for g in order where network.groups[g].swappable {
            let group = network.groups[g]
            let m = network.layers[group.layers[0]].layout.slots
            guard
                network.connections.contains(where: {
                    group.layers.contains($0.input) || group.layers.contains($0.output)
                })
            else { continue }
            let importance = unitImportance(network: network, group: group, parameters: parameters)
            let ranked = RelocationPlanner.rankedByImportance(importance)
            for j in ranked.prefix(topK) {
                var best = 0, bestCost = Double.infinity
                for k in 0..<m {
                    let swap = transposition(m, j, k)
                    apply(units: swap, group: group, network: &network, parameters: &parameters)
                    let total = evaluate(network, parameters)
                    apply(units: swap, group: group, network: &network, parameters: &parameters)
                    if total < bestCost { bestCost = total; best = k }
                }
                apply(units: transposition(m, j, best), group: group, network: &network, parameters: &parameters)
            }
        }
    }

    static func transposition(_ m: Int, _ j: Int, _ k: Int) -> [Int] {
        var units = Array(0..<m)
        units.swapAt(j, k)
        return units
    }

    /// sum |incoming| + sum |outgoing| of every unit of a group (all folds, all layers).
    public static func unitImportance(network: SpatialNetwork, group: SwapGroup, parameters: [Float]) -> [Double] {
        let m = network.layers[group.layers[0]].layout.slots
        var importance = [Double](repeating: 0, count: m)
        for layer in group.layers {
            for c in network.connections {
                for i in 0..<c.weight.rows {
                    for j in 0..<c.weight.columns {
                        let w = abs(Double(parameters[c.weight.offset + i * c.weight.columns + j]))
                        if c.output == layer { importance[i % m] += w }
                        if c.input == layer { importance[j % m] += w }
                    }
                }
            }
        }
        return importance
    }

    /// Host twin of `SpatialGeometry.apply`: a unit permutation (new slot s <- old unit
    /// units[s]) applied to every layer of the group in a host parameter array.
    public static func apply(units: [Int], group: SwapGroup, network: inout SpatialNetwork, parameters: inout [Float]) {
        for layer in group.layers {
            let neurons = network.neuronPermutation(layer: layer, units: units)
            for c in network.connections {
                if c.output == layer {
                    permute(&parameters, c.weight, neurons, alongRows: true)
                    if let bias = c.bias { permute(&parameters, bias, neurons, alongRows: true) }
                }
                if c.input == layer { permute(&parameters, c.weight, neurons, alongRows: false) }
            }
            for p in network.neuronParameters where p.layer == layer {
                let length = p.alongRows ? p.view.rows : p.view.columns
                permute(&parameters, p.view, length == neurons.count ? neurons : units, alongRows: p.alongRows)
            }
            let old = network.permutations[layer]
            network.permutations[layer] = neurons.map { old[$0] }
        }
    }

    static func permute(_ x: inout [Float], _ v: ParameterView, _ permutation: [Int], alongRows: Bool) {
        let old = Array(x[v.offset..<(v.offset + v.count)])
        for r in 0..<v.rows {
            for c in 0..<v.columns {
                let source = alongRows ? permutation[r] * v.columns + c : r * v.columns + permutation[c]
                x[v.offset + r * v.columns + c] = old[source]
            }
        }
    }
}
