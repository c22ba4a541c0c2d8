import BIMTCompute
import CBIMTGraph
import Foundation

/// How modular a pruned network is, against nulls: Newman's modularity Q of its neuron graph
/// (nodes: the neurons, as `bimt analyze`'s modules count them; edges: the kept weights
/// between two neurons, weighted by their summed |w|) with communities found by Louvain
/// (igraph), and the mean connection length (|w|-weighted, BIMT's own objective), each against
/// networks whose every matrix has its weights shuffled (same sparsity, same magnitudes, no
/// structure).
public struct ModularityReport: Sendable, Codable, Equatable {
    /// Q of the network's communities.
    public var q: Double
    /// Communities Louvain found.
    public var communities: Int
    /// Shuffled nulls measured.
    public var nulls: Int
    /// The nulls' Q: mean and standard deviation (n - 1).
    public var nullMean: Double
    public var nullStd: Double
    /// (Q - nullMean) / nullStd; nil when the nulls' Q does not vary.
    public var z: Double?
    /// The mean connection length of the kept weights (|w|-weighted distance between the
    /// neurons a weight joins, in the layouts' coordinates).
    public var meanLength: Double
    /// The nulls' mean length: mean and standard deviation.
    public var nullLengthMean: Double
    public var nullLengthStd: Double
    /// (meanLength - nullLengthMean) / nullLengthStd: negative when the network is more local than its nulls.
    public var lengthZ: Double?

    enum CodingKeys: String, CodingKey {
        case q, communities, nulls, z
        case nullMean = "null_mean"
        case nullStd = "null_std"
        case meanLength = "mean_length"
        case nullLengthMean = "null_length_mean"
        case nullLengthStd = "null_length_std"
        case lengthZ = "length_z"
    }
}

extension Analysis {
    /// A weighted, undirected graph.
    struct WeightedGraph: Equatable {
        var nodes: Int
        var from: [Int32] = [], to: [Int32] = [], weights: [Double] = []
    }

    /// igraph's random generator is global: one caller at a time.
    private static let igraph = NSLock()

    /// Loads igraph once; why it could not be, with the fix.
    private static let igraphLoaded: String? = {
        var reason = [CChar](repeating: 0, count: 512)
        guard bimt_igraph_load(&reason, reason.count) != 0 else { return nil }
        return "modularity needs igraph: "
            + String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            + "; install it with `sudo apt-get install libigraph3` (or run scripts/install-deps)"
    }()

    static func requireIGraph() throws {
        if let problem = igraph.withLock({ igraphLoaded }) { throw BIMTError.invalidSetting(problem) }
    }

    /// Louvain communities of `graph` (seeded) and their Q.
    static func louvain(_ graph: WeightedGraph, seed: UInt64) throws -> (q: Double, membership: [Int32]) {
        try requireIGraph()
        var membership = [Int32](repeating: 0, count: graph.nodes), q = 0.0
        let status = igraph.withLock {
            bimt_louvain(
                Int32(graph.nodes), Int32(graph.weights.count), graph.from, graph.to, graph.weights, UInt(seed),
                &membership, &q)
        }
        guard status == 0 else { throw BIMTError.invalidSetting("igraph's community search failed (error \(status))") }
        return (q, membership)
    }

    /// Newman's Q of a given partition of `graph`.
    static func modularity(_ graph: WeightedGraph, membership: [Int32]) throws -> Double {
        try requireIGraph()
        var q = 0.0
        let status = igraph.withLock {
            bimt_modularity(
                Int32(graph.nodes), Int32(graph.weights.count), graph.from, graph.to, graph.weights, membership, &q)
        }
        guard status == 0 else { throw BIMTError.invalidSetting("igraph's modularity failed (error \(status))") }
        return q
    }

    /// The graph of the nonzero weights in `values`: one edge per pair of nodes (`nodes(of:)`)
    /// joined by any, weighted by their summed |w|.
    static func neuronGraph(network: SpatialNetwork, values: [Float]) -> WeightedGraph {
        let (offsets, node) = nodes(of: network)
        var edges: [Int: Double] = [:]
        let count = offsets.last!
        for c in network.connections {
            for i in 0..<c.weight.rows {
                let a = node(c.output, i)
                for j in 0..<c.weight.columns {
                    let w = values[c.weight.offset + i * c.weight.columns + j]
                    guard w != 0 else { continue }
                    let b = node(c.input, j)
                    edges[min(a, b) * count + max(a, b), default: 0] += Double(abs(w))
                }
            }
        }
        var graph = WeightedGraph(nodes: count)
        for (key, weight) in edges.sorted(by: { $0.key < $1.key }) {
            graph.from.append(Int32(key / count))
            graph.to.append(Int32(key % count))
            graph.weights.append(weight)
        }
        return graph
    }

    /// The |w|-weighted mean distance between the neurons each nonzero weight joins.
    static func meanLength(network: SpatialNetwork, values: [Float], metric: DistanceMetric) -> Double {
        var weighted = 0.0, total = 0.0
        for c in network.connections {
            let outs = network.layers[c.output].layout, ins = network.layers[c.input].layout
            for i in 0..<c.weight.rows {
                let a = outs.slotCoordinates[i % outs.slots]
                for j in 0..<c.weight.columns {
                    let w = Double(abs(values[c.weight.offset + i * c.weight.columns + j]))
                    guard w != 0 else { continue }
                    weighted += w * NeuronLayout.distance(a, ins.slotCoordinates[j % ins.slots], metric: metric)
                    total += w
                }
            }
        }
        return total > 0 ? weighted / total : 0
    }

    /// Q and mean length of the network with weights `values` (pruned), against `nulls` copies
    /// whose every matrix has its entries shuffled (seeded by `seed`).
    public static func modularity(
        network: SpatialNetwork, values: [Float], metric: DistanceMetric, nulls: Int = 10, seed: UInt64 = 1
    ) throws -> ModularityReport {
        guard nulls >= 2 else {
            throw BIMTError.invalidSetting("a modularity z-score needs at least 2 shuffled nulls, got \(nulls)")
        }
        let graph = neuronGraph(network: network, values: values)
        guard !graph.weights.isEmpty else {
            throw BIMTError.invalidSetting("every weight was pruned: the network has no graph to measure")
        }
        let (q, membership) = try louvain(graph, seed: seed)
        var generator = SeededGenerator(seed: seed)
        var nullQ: [Double] = [], nullLength: [Double] = []
        for n in 0..<nulls {
            var shuffled = values
            for c in network.connections {
                let range = c.weight.offset..<(c.weight.offset + c.weight.count)
                shuffled[range].shuffle(using: &generator)
            }
            nullQ.append(try louvain(neuronGraph(network: network, values: shuffled), seed: seed &+ UInt64(n) &+ 1).q)
            nullLength.append(meanLength(network: network, values: shuffled, metric: metric))
        }
        func spread(_ x: [Double]) -> (mean: Double, std: Double) {
            let mean = x.reduce(0, +) / Double(x.count)
            return (mean, (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count - 1)).squareRoot())
        }
        let (qMean, qStd) = spread(nullQ), (lMean, lStd) = spread(nullLength)
        let length = meanLength(network: network, values: values, metric: metric)
        // A spread at rounding level (nulls that all fall apart the same way) gives no z-score.
        func z(_ x: Double, _ mean: Double, _ std: Double) -> Double? {
            std > 1e-9 * max(1, abs(mean)) ? (x - mean) / std : nil
        }
        return ModularityReport(
            q: q, communities: Set(membership).count, nulls: nulls, nullMean: qMean, nullStd: qStd,
            z: z(q, qMean, qStd), meanLength: length, nullLengthMean: lMean, nullLengthStd: lStd,
            lengthZ: z(length, lMean, lStd))
    }
}
