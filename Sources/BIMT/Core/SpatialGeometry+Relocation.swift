import BIMTCompute

extension SpatialGeometry {
    /// Decides one swap group's unit permutation: given the group's index, its unit count and
    /// the plan (scoring on the device, deciding on the host), returns new slot s <- old unit
    /// units[s]. A data-parallel run plans on one rank and hands the result to the others.
    public typealias RelocationDecider = (_ group: Int, _ units: Int, _ plan: () throws -> [Int]) throws -> [Int]

    /// Rearranges every swappable group in order (inputs first): scores the group on the
    /// device, decides on the host, then permutes the weights of `parameters` and, with
    /// `moveOptimizerState`, of every buffer in `optimizerState` (AdamW moments share the
    /// parameters' layout) on the device. The network computes the same function after.
    /// `decide` (nil: plan here) chooses each group's permutation.
    public func relocate(
        parameters: BufferSlice, optimizerState: [BufferSlice] = [],
        settings relocation: RelocationSettings, decide: RelocationDecider? = nil
    ) throws -> RelocationReport {
        try checkParameters(parameters, "parameters")
        guard relocation.method != .off else { return RelocationReport(movedUnits: []) }
        guard relocation.topK >= 1 || relocation.method == .assignment else {
            throw BIMTError.invalidSetting("top_k must be >= 1 for greedy relocation, got \(relocation.topK)")
        }
        for state in optimizerState { try checkParameters(state, "optimizer state") }
        var moved: [Int] = []
        let order = network.groups.indices.sorted {
            network.groups[$0].layers.min()! < network.groups[$1].layers.min()!
        }
        for g in order where network.groups[g].swappable {
            let group = network.groups[g]
            guard
                network.connections.contains(where: {
                    group.layers.contains($0.output) || group.layers.contains($0.input)
                })
            else { continue }
            let m = network.layers[group.layers[0]].layout.slots
            let plan = { () throws -> [Int] in
                // A group no matrix touches keeps its arrangement.
                guard let (scoreMatrix, importance) = try self.scoreGroup(group, parameters: parameters) else {
                    return Array(0..<m)
                }
                return try RelocationPlanner.plan(
                    scores: scoreMatrix, importance: importance, units: m,
                    blockSize: group.blockSize, method: relocation.method, topK: relocation.topK)
            }
            let units = try decide?(g, m, plan) ?? plan()
            let count = units.enumerated().filter { $0.offset != $0.element }.count
            moved.append(count)
            if count > 0 {
                let buffers = [parameters] + (relocation.moveOptimizerState ? optimizerState : [])
                try apply(units: units, group: group, buffers: buffers)
            }
        }
        return RelocationReport(movedUnits: moved)
    }

    /// The group's m x m swap-score matrix C[u, p] and unit importances, or nil when no
    /// matrix touches the group.
    public func scoreGroup(_ group: SwapGroup, parameters: BufferSlice) throws -> (
        scores: [Double], importance: [Double]
    )? {
        let m = network.layers[group.layers[0]].layout.slots
        let scoreSlice = scores.slice(offset: 0, count: m * m), sumSlice = sums.slice(offset: 0, count: m)
        var first = true
        for layer in group.layers {
            let f = network.layers[layer].layout.folds
            for c in network.connections where c.output == layer || c.input == layer {
                let incoming = c.output == layer
                let other = incoming ? c.input : c.output
                let otherCount = network.layers[other].layout.neuronCount
                let scale =
                    network.weightFactor(of: c, under: relocationSettings)
                    * relocationSettings.scale(count: c.weight.count)
                var pass = SwapScorePass(
                    units: m, folds: f, otherCount: otherCount,
                    rowStride: incoming ? c.weight.columns : 1,
                    otherStride: incoming ? 1 : c.weight.columns,
                    scale: scale, metric: relocationSettings.metric, accumulate: !first)
                let weights = view(parameters, c.weight)
                try device.swapScores(
                    pass, weights: weights, slotCoordinates: slotCoordinates[layer].whole,
                    otherCoordinates: neuronCoordinates[other].whole, scores: scoreSlice)
                pass.scale = 1
                try device.unitAbsoluteSums(pass, weights: weights, sums: sumSlice)
                first = false
            }
        }
        if first { return nil }
        return (try device.read(scoreSlice).map(Double.init), try device.read(sumSlice).map(Double.init))
    }

    /// Applies a unit permutation (new slot s <- old unit units[s]) to every layer of the
    /// group: rows of incoming weights and biases, columns of outgoing weights, per-neuron
    /// parameters, in every buffer; and records it in `network.permutations`.
    func apply(units: [Int], group: SwapGroup, buffers: [BufferSlice]) throws {
        for layer in group.layers {
            let neurons = network.neuronPermutation(layer: layer, units: units)
            for buffer in buffers {
                for c in network.connections {
                    if c.output == layer {
                        try device.permute(
                            view(buffer, c.weight), rows: c.weight.rows, columns: c.weight.columns,
                            permutation: neurons, alongRows: true)
                        if let bias = c.bias {
                            try device.permute(
                                view(buffer, bias), rows: bias.count, columns: 1,
                                permutation: neurons, alongRows: true)
                        }
                    }
                    if c.input == layer {
                        try device.permute(
                            view(buffer, c.weight), rows: c.weight.rows, columns: c.weight.columns,
                            permutation: neurons, alongRows: false)
                    }
                }
                for p in network.neuronParameters where p.layer == layer {
                    let length = p.alongRows ? p.view.rows : p.view.columns
                    try device.permute(
                        view(buffer, p.view), rows: p.view.rows, columns: p.view.columns,
                        permutation: length == neurons.count ? neurons : units, alongRows: p.alongRows)
                }
            }
            let old = network.permutations[layer]
            network.permutations[layer] = neurons.map { old[$0] }
        }
    }
}
