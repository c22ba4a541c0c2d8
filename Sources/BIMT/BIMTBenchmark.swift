import BIMTCompute
import Foundation

/// `bimt bench bimt`: one connection-cost pass, one greedy relocation, one assignment relocation
/// and the paper's naive procedure on the same network in the same run.
public struct BIMTBenchmarkResult: Sendable, Codable {
    /// The device's name.
    public var device: String
    /// The MLP's widths.
    public var shape: [Int]
    /// The layout family.
    public var layout: String
    /// Greedy candidates per layer.
    public var topK: Int
    /// One fused connection-cost pass (cost + gradient over every matrix), median.
    public var connectionCostSeconds: Double
    /// One read of the same weights (sum of |w|), the yardstick for the connection-cost pass, median.
    public var readSeconds: Double
    /// Swap scores (C and unit importance, read back) of every swappable layer, median.
    public var scoresSeconds: Double
    /// Median seconds of one greedy relocation.
    public var greedySeconds: Double
    /// Median seconds of one assignment relocation.
    public var assignmentSeconds: Double
    /// The paper's procedure (trial swaps, full double-precision cost per candidate), one run; nil when skipped.
    public var naiveSeconds: Double?
    /// How many times faster greedy is than the naive swap search (nil when that was not run).
    public var speedupVsNaive: Double?
    /// The connection cost before relocating.
    public var costBefore: Double
    /// The cost after one greedy relocation.
    public var costAfterGreedy: Double
    /// The cost after one assignment relocation.
    public var costAfterAssignment: Double
    /// The cost after the naive search (nil when not run).
    public var costAfterNaive: Double?

    enum CodingKeys: String, CodingKey {
        case device, shape, layout
        case topK = "top_k"
        case connectionCostSeconds = "connection_cost_seconds"
        case readSeconds = "read_seconds"
        case scoresSeconds = "scores_seconds"
        case greedySeconds = "greedy_seconds"
        case assignmentSeconds = "assignment_seconds"
        case naiveSeconds = "naive_seconds"
        case speedupVsNaive = "speedup_vs_naive"
        case costBefore = "cost_before"
        case costAfterGreedy = "cost_after_greedy"
        case costAfterAssignment = "cost_after_assignment"
        case costAfterNaive = "cost_after_naive"
    }
}

/// Times one relocation of a random MLP (`bimt bench bimt`).
public enum BIMTBenchmark {
    /// The paper's image-model cost settings (mean, wf 2, l0 0.5).
    public static let settings = CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean)

    /// Relocates a randomly initialized MLP of `shape` `repeats` times per method and reports medians and costs.
    public static func run(
        device: Device, shape: [Int], layout: LayoutFamily, topK: Int, repeats: Int,
        naive: Bool, seed: UInt64 = 1
    ) throws -> BIMTBenchmarkResult {
        guard repeats >= 1 else { throw BIMTError.invalidSetting("repeats must be >= 1, got \(repeats)") }
        guard topK >= 1 else { throw BIMTError.invalidSetting("top_k must be >= 1, got \(topK)") }
        let network = try MLPArchitecture(widths: shape, layout: layout).spatialNetwork(swapInputs: layout == .line)
        let initial = network.initialParameters(seed: seed)
        let parameters = try device.makeBuffer(initial)
        let gradient = try device.makeBuffer([Float](repeating: 0, count: initial.count))
        let cost = try device.makeBuffer([0])
        let geometry = try SpatialGeometry(network: network, settings: settings, device: device)
        let costBefore = try geometry.cost(parameters: parameters.whole)

        func time(_ body: () throws -> Void) throws -> Double {
            median(try (0..<repeats).map { _ in try device.seconds(body) })
        }
        // Warm-up: builds kernels, faults pages.
        try geometry.connectionCost(
            parameters: parameters.whole, gradient: gradient.whole, lambda: 1e-3, cost: cost.whole)
        let connectionCost = try time {
            try geometry.connectionCost(
                parameters: parameters.whole, gradient: gradient.whole, lambda: 1e-3, cost: cost.whole)
        }
        let weights = network.connections.map { parameters.slice(offset: $0.weight.offset, count: $0.weight.count) }
        let read = try time {
            for w in weights {
                try device.l1Cost(values: w, gradient: nil, l0: 1, costScale: 1, gradientScale: 0, cost: cost.whole)
            }
        }

        let swappable = network.groups.filter(\.swappable)
        let scores = try time {
            for group in swappable { _ = try geometry.scoreGroup(group, parameters: parameters.whole) }
        }

        func relocationTime(_ method: RelocationMethod) throws -> (Double, Double) {
            var samples: [Double] = [], after = 0.0
            for _ in 0..<(repeats + 1) { // the first run is a warm-up
                let local = try SpatialGeometry(network: network, settings: settings, device: device)
                try device.write(initial, to: parameters.whole)
                let settings = RelocationSettings(method: method, topK: topK)
                samples.append(
                    try device.seconds {
                        _ = try local.relocate(parameters: parameters.whole, settings: settings)
                    })
                after = try local.cost(parameters: parameters.whole)
            }
            return (median(Array(samples.dropFirst())), after)
        }
        let (greedy, afterGreedy) = try relocationTime(.greedy)
        let (assignment, afterAssignment) = try relocationTime(.assignment)

        var naiveSeconds: Double?, afterNaive: Double?
        if naive {
            var naiveNetwork = network, values = initial
            let start = DispatchTime.now().uptimeNanoseconds
            NaiveRelocation.relocate(network: &naiveNetwork, settings: settings, parameters: &values, topK: topK)
            naiveSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            afterNaive = NaiveRelocation.cost(network: naiveNetwork, settings: settings, parameters: values)
        }
        return BIMTBenchmarkResult(
            device: device.name, shape: shape, layout: layout.rawValue, topK: topK,
            connectionCostSeconds: connectionCost,
            readSeconds: read, scoresSeconds: scores, greedySeconds: greedy, assignmentSeconds: assignment,
            naiveSeconds: naiveSeconds,
            speedupVsNaive: naiveSeconds.map { $0 / greedy }, costBefore: costBefore, costAfterGreedy: afterGreedy,
            costAfterAssignment: afterAssignment, costAfterNaive: afterNaive)
    }
}
