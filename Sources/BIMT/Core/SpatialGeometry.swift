import BIMTCompute

/// A `SpatialNetwork` placed on a device: the coordinates of every layer's neurons and
/// slots in device buffers (uploaded once: swaps move weights, never coordinates), and
/// the scratch that swap scoring needs. Runs the fused connection-cost pass and relocation.
public final class SpatialGeometry {
    /// Where the coordinates, scratch and every pass live.
    public let device: Device
    /// The network, with its permutations as relocations leave them.
    public internal(set) var network: SpatialNetwork
    /// The cost training adds to the loss (`connectionCost`, `cost`).
    public var settings: CostSettings
    /// The cost the swap search minimizes (`relocate`); by default `settings` with wf on
    /// every matrix, as the paper scores swaps.
    public var relocationSettings: CostSettings
    /// Per layer: neuron coordinates, SoA [x of n neurons, y of n neurons].
    let neuronCoordinates: [Buffer]
    /// Per layer: slot coordinates, SoA [x of m slots, y of m slots].
    let slotCoordinates: [Buffer]
    /// Scratch: an m x m score matrix, m unit sums, one cost accumulator.
    let scores: Buffer
    let sums: Buffer
    let costAccumulator: Buffer

    /// Uploads the coordinates of `network` to `device`. `relocationSettings` nil: the swap search
    /// uses `settings` with wf on every matrix.
    public init(
        network: SpatialNetwork, settings: CostSettings, relocationSettings: CostSettings? = nil, device: Device
    ) throws {
        self.network = network
        self.settings = settings
        self.relocationSettings = relocationSettings ?? settings.penalizingLast
        self.device = device
        neuronCoordinates = try network.layers.map { try device.makeBuffer($0.layout.neuronCoordinatesSoA) }
        slotCoordinates = try network.layers.map { try device.makeBuffer($0.layout.slotCoordinatesSoA) }
        let largest = network.layers.map(\.layout.slots).max() ?? 1
        scores = try device.makeBuffer(count: largest * largest)
        sums = try device.makeBuffer(count: largest)
        costAccumulator = try device.makeBuffer(count: 1)
    }

    func checkParameters(_ parameters: BufferSlice, _ role: String) throws {
        guard parameters.count >= network.parameterExtent else {
            throw BIMTError.shapeMismatch(
                "\(role) holds \(parameters.count) floats but the network refers to \(network.parameterExtent)")
        }
    }

    func view(_ parameters: BufferSlice, _ view: ParameterView) -> BufferSlice {
        parameters.slice(offset: view.offset, count: view.count)
    }

    /// The fused connection-cost pass over every matrix (and biases when `settings.penalizeBiases`,
    /// and embedding tables): adds the total connection cost into `cost[0]` on the device
    /// and, when `gradient` is given, lambda times its gradient into `gradient`.
    public func connectionCost(parameters: BufferSlice, gradient: BufferSlice?, lambda: Float, cost: BufferSlice) throws
    {
        try checkParameters(parameters, "parameters")
        if let gradient { try checkParameters(gradient, "gradient") }
        for c in network.connections {
            let scale = settings.scale(count: c.weight.count)
            let pass = ConnectionCostPass(
                rows: c.weight.rows, columns: c.weight.columns,
                weightFactor: network.weightFactor(of: c, under: settings),
                l0: settings.l0, costScale: scale, gradientScale: lambda * scale,
                metric: settings.metric)
            try device.connectionCost(
                pass, weights: view(parameters, c.weight), gradient: gradient.map { view($0, c.weight) },
                outCoordinates: neuronCoordinates[c.output].whole,
                inCoordinates: neuronCoordinates[c.input].whole, cost: cost)
            if settings.penalizeBiases, let bias = c.bias {
                try l1(bias, parameters: parameters, gradient: gradient, lambda: lambda, cost: cost)
            }
        }
        for table in network.embeddingTables {
            try l1(table, parameters: parameters, gradient: gradient, lambda: lambda, cost: cost)
        }
    }

    private func l1(
        _ v: ParameterView, parameters: BufferSlice, gradient: BufferSlice?, lambda: Float,
        cost: BufferSlice
    ) throws {
        let scale = settings.scale(count: v.count)
        try device.l1Cost(
            values: view(parameters, v), gradient: gradient.map { view($0, v) }, l0: settings.l0,
            costScale: scale, gradientScale: lambda * scale, cost: cost)
    }

    /// The total connection cost (no gradient), read back to the host.
    public func cost(parameters: BufferSlice) throws -> Double {
        try device.fill(costAccumulator.whole, value: 0)
        try connectionCost(parameters: parameters, gradient: nil, lambda: 0, cost: costAccumulator.whole)
        return Double(try device.read(costAccumulator.whole)[0])
    }
}
