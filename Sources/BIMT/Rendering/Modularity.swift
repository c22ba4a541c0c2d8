import BIMTCompute
import CBIMTGraph
import Foundation

/// The nulls a pruned network's modularity and locality are measured against.
public enum NullModel: String, Sendable, Codable, CaseIterable {
    /// Every matrix's entries shuffled: the same sparsity and magnitudes, no structure at all
    /// (each neuron's number of connections is random too).
    case shuffled
    /// Every matrix's kept weights rewired by checkerboard swaps ((r1, c1), (r2, c2) to
    /// (r1, c2), (r2, c1) where both are empty; ten swaps tried per weight), each weight
    /// moving with its row: every neuron keeps its number of kept weights in and out, and its
    /// outgoing magnitudes; which neurons they join is random.
    case degree
}

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
    /// What the nulls keep of the network (`NullModel`; nil in reports from before the choice:
    /// shuffled).
    public var null: NullModel? = nil
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
        case q, communities, nulls, z, null
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
    /// whose every matrix is rewired as `null` says (seeded by `seed`).
    public static func modularity(
        network: SpatialNetwork, values: [Float], metric: DistanceMetric, nulls: Int = 10,
        null: NullModel = .shuffled, seed: UInt64 = 1
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
                switch null {
                case .shuffled: shuffled[range].shuffle(using: &generator)
                case .degree:
                    rewire(
                        &shuffled, offset: c.weight.offset, rows: c.weight.rows, columns: c.weight.columns,
                        using: &generator)
                }
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
            q: q, communities: Set(membership).count, nulls: nulls, null: null, nullMean: qMean, nullStd: qStd,
            z: z(q, qMean, qStd), meanLength: length, nullLengthMean: lMean, nullLengthStd: lStd,
            lengthZ: z(length, lMean, lStd))
    }

    /// Rewires the kept (nonzero) weights of the [rows, columns] matrix at `offset` by
    /// checkerboard swaps, ten tried per weight: a weight keeps its row and takes the column
    /// of the other, so every row and every column keeps its count of kept weights.
    static func rewire(
        _ values: inout [Float], offset: Int, rows: Int, columns: Int, using generator: inout SeededGenerator
    ) {
        var edges = (0..<(rows * columns)).filter { values[offset + $0] != 0 }
        guard edges.count >= 2 else { return }
        var occupied = [Bool](repeating: false, count: rows * columns)
        for e in edges { occupied[e] = true }
        var weight = [Float](repeating: 0, count: rows * columns)
        for e in edges { weight[e] = values[offset + e] }
        for _ in 0..<(10 * edges.count) {
            let x = Int.random(in: 0..<edges.count, using: &generator)
            let y = Int.random(in: 0..<edges.count, using: &generator)
            let (r1, c1) = edges[x].quotientAndRemainder(dividingBy: columns)
            let (r2, c2) = edges[y].quotientAndRemainder(dividingBy: columns)
            let (a, b) = (r1 * columns + c2, r2 * columns + c1)
            guard r1 != r2, c1 != c2, !occupied[a], !occupied[b] else { continue }
            (occupied[edges[x]], occupied[edges[y]], occupied[a], occupied[b]) = (false, false, true, true)
            (weight[a], weight[b]) = (weight[edges[x]], weight[edges[y]])
            (edges[x], edges[y]) = (a, b)
        }
        for i in 0..<(rows * columns) { values[offset + i] = 0 }
        for e in edges { values[offset + e] = weight[e] }
    }
}
