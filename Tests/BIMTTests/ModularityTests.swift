@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// Modularity against igraph, a hand computation and built networks (`bimt analyze --modularity`).
@Suite("modularity against nulls")
struct ModularityTests {
    /// Newman's Q from its definition, independently of igraph: (1 / 2m) sum over node pairs in
    /// one community of (A_ij - k_i k_j / 2m), self-pairs included.
    static func handQ(_ g: Analysis.WeightedGraph, _ membership: [Int32]) -> Double {
        var a = [[Double]](repeating: [Double](repeating: 0, count: g.nodes), count: g.nodes)
        for k in g.weights.indices {
            let (i, j) = (Int(g.from[k]), Int(g.to[k]))
            a[i][j] += g.weights[k]
            if i != j { a[j][i] += g.weights[k] }
        }
        let degree = a.map { $0.reduce(0, +) }, twiceM = degree.reduce(0, +)
        var q = 0.0
        for i in 0..<g.nodes {
            for j in 0..<g.nodes where membership[i] == membership[j] { q += a[i][j] - degree[i] * degree[j] / twiceM }
        }
        return q / twiceM
    }

    @Test("two triangles joined by one edge: Louvain finds them, Q is 5/14, igraph and the hand agree")
    func twoCliques() throws {
        var g = Analysis.WeightedGraph(nodes: 6)
        for (i, j) in [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)] {
            g.from.append(Int32(i))
            g.to.append(Int32(j))
            g.weights.append(1)
        }
        let (q, membership) = try Analysis.louvain(g, seed: 1)
        #expect(abs(q - 5.0 / 14) < 1e-12, "Q \(q)")
        #expect(
            Set(membership[0...2]).count == 1 && Set(membership[3...5]).count == 1 && membership[0] != membership[3])
        #expect(abs(try Analysis.modularity(g, membership: [0, 0, 0, 1, 1, 1]) - 5.0 / 14) < 1e-12)
        // Weighted, and a partition Louvain would not choose: igraph against the definition.
        g.weights = [1, 2, 3, 0.5, 1.5, 2.5, 4]
        let partition: [Int32] = [0, 0, 1, 1, 2, 2]
        #expect(abs(try Analysis.modularity(g, membership: partition) - Self.handQ(g, partition)) < 1e-12)
    }

    /// An MLP 8-16-4 whose nonzero weights form two disjoint blocks (inputs 0-3, hidden 0-7,
    /// outputs 0-1; and the rest), or the same number of nonzero weights placed at random.
    static func network(modular: Bool) throws -> (SpatialNetwork, [Float]) {
        let network = try MLPArchitecture(widths: [8, 16, 4], activation: .silu, layout: .line).spatialNetwork()
        var values = [Float](repeating: 0, count: network.parameterExtent)
        var generator = SeededGenerator(seed: 21)
        for c in network.connections {
            let (rows, columns) = (c.weight.rows, c.weight.columns)
            var cells = (0..<rows).flatMap { i in (0..<columns).map { (i, $0) } }.filter { i, j in
                (i < rows / 2) == (j < columns / 2) // the two blocks' cells
            }
            if !modular {
                let count = cells.count
                cells = Array(
                    (0..<rows).flatMap { i in (0..<columns).map { (i, $0) } }.shuffled(using: &generator)
                        .prefix(count))
            }
            for (i, j) in cells {
                values[c.weight.offset + i * columns + j] = Float.random(in: 0.5...1, using: &generator)
            }
        }
        return (network, values)
    }

    @Test("a network of two disjoint blocks is modular against its nulls; the same sparsity at random is not")
    func againstNulls() throws {
        let (modularNet, modular) = try Self.network(modular: true)
        let report = try Analysis.modularity(network: modularNet, values: modular, metric: .manhattan, nulls: 20)
        #expect(report.communities >= 2)
        #expect((report.z ?? 0) > 3, "\(report)")
        let (randomNet, random) = try Self.network(modular: false)
        let null = try Analysis.modularity(network: randomNet, values: random, metric: .manhattan, nulls: 20)
        #expect(abs(null.z ?? 0) < 3, "\(null)")
        #expect(report.q > null.q)
        // The blocks also join near neurons (each half of a line layout to the same half): shorter than shuffled.
        #expect((report.lengthZ ?? 0) < -3, "\(report)")
        #expect(throws: BIMTError.self) {
            try Analysis.modularity(network: modularNet, values: modular, metric: .manhattan, nulls: 1)
        }
        #expect(throws: BIMTError.self) {
            try Analysis.modularity(
                network: modularNet, values: [Float](repeating: 0, count: modular.count), metric: .manhattan)
        }
    }

    @Test("degree-preserving nulls: every neuron keeps its connection count and magnitudes; blocks still stand out")
    func degreePreserving() throws {
        var generator = SeededGenerator(seed: 3)
        let (rows, columns) = (12, 9)
        var values = (0..<(rows * columns)).map { _ in
            Float.random(in: 0..<1, using: &generator) < 0.3 ? Float.random(in: -1...1, using: &generator) : 0
        }
        values.insert(contentsOf: [7, 7], at: 0) // an offset: entries before the matrix stay
        let original = values
        Analysis.rewire(&values, offset: 2, rows: rows, columns: columns, using: &generator)
        #expect(values[0..<2] == original[0..<2])
        func kept(_ v: [Float], row: Int) -> [Float] {
            (0..<columns).map { v[2 + row * columns + $0] }.filter { $0 != 0 }.sorted()
        }
        func count(_ v: [Float], column: Int) -> Int { (0..<rows).filter { v[2 + $0 * columns + column] != 0 }.count }
        for r in 0..<rows { #expect(kept(values, row: r) == kept(original, row: r), "row \(r)") }
        for c in 0..<columns { #expect(count(values, column: c) == count(original, column: c), "column \(c)") }
        #expect(values != original, "nothing was rewired")

        // Two disjoint blocks: modular against degree-preserving nulls too (they mix the blocks).
        let (modularNet, modular) = try Self.network(modular: true)
        let report = try Analysis.modularity(
            network: modularNet, values: modular, metric: .manhattan, nulls: 20, null: .degree)
        #expect(report.null == .degree && (report.z ?? 0) > 3 && (report.lengthZ ?? 0) < -3, "\(report)")
        let (randomNet, random) = try Self.network(modular: false)
        let null = try Analysis.modularity(
            network: randomNet, values: random, metric: .manhattan, nulls: 20, null: .degree)
        #expect(abs(null.z ?? 0) < 3, "\(null)")
    }
}
