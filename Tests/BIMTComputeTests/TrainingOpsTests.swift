import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Training operations")
struct TrainingOpsTests {
    @Test("MSE loss and gradient", arguments: [1, 7, 257, 1000])
    func mse(n: Int) throws {
        var generator = SeededGenerator(seed: UInt64(n))
        let y = generator.uniform(n), t = generator.uniform(n)
        let expectedLoss = zip(y, t).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(n)
        for device in try opDevices() {
            let dy = try device.makeBuffer(count: n), loss = try device.makeBuffer([0.5])
            try device.mseLoss(output: try device.makeBuffer(y).whole, target: try device.makeBuffer(t).whole,
                               outputGradient: dy.whole, loss: loss.whole)
            expectClose(try device.read(loss.whole), [0.5 + expectedLoss], tolerance: 1e-6, "\(device.name) MSE loss")
            expectClose(try device.read(dy.whole), zip(y, t).map { 2 * (Double($0) - Double($1)) / Double(n) },
                        tolerance: 1e-6, "\(device.name) MSE gradient")
        }
    }

    @Test("softmax cross-entropy: loss, accuracy and gradient", arguments: [(1, 2), (7, 3), (129, 59), (1000, 10)])
    func crossEntropy(shape: (Int, Int)) throws {
        let (rows, columns) = shape
        var generator = SeededGenerator(seed: 3)
        let z = generator.uniform(rows * columns, -5, 5)
        let labels = (0..<rows).map { _ in Float(Int.random(in: 0..<columns, using: &generator)) }
        var loss = 0.0, hits = 0.0, gradient = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let row = z[(r * columns)..<((r + 1) * columns)].map(Double.init)
            let largest = row.max()!, total = row.reduce(0) { $0 + exp($1 - largest) }
            let label = Int(labels[r])
            loss += (log(total) + largest - row[label]) / Double(rows)
            if row.firstIndex(of: largest) == label { hits += 1 }
            for c in 0..<columns {
                gradient[r * columns + c] = (exp(row[c] - largest) / total - (c == label ? 1 : 0)) / Double(rows)
            }
        }
        for device in try opDevices() {
            let dz = try device.makeBuffer(count: rows * columns), l = try device.makeBuffer([0]), hit = try device.makeBuffer([2])
            try device.crossEntropy(logits: try device.makeBuffer(z).whole, labels: try device.makeBuffer(labels).whole,
                                    rows: rows, columns: columns, logitGradient: dz.whole, loss: l.whole, correct: hit.whole)
            expectClose(try device.read(l.whole), [loss], tolerance: 1e-6, "\(device.name) cross-entropy loss")
            #expect(try device.read(hit.whole) == [Float(2 + hits)], "\(device.name) accuracy count")
            expectClose(try device.read(dz.whole), gradient, tolerance: 1e-6, "\(device.name) cross-entropy gradient",
                        columns: columns)
        }
    }

    @Test("embedding lookup with folds, its backward, and batch gathers")
    func embedding() throws {
        let (vocabulary, dimension, folds, rows) = (11, 5, 2, 9)
        var generator = SeededGenerator(seed: 4)
        let table = generator.uniform(vocabulary * dimension)
        let tokens = (0..<(rows * folds)).map { _ in Float(Int.random(in: 0..<vocabulary, using: &generator)) }
        let dout = generator.uniform(rows * folds * dimension), prior = generator.uniform(vocabulary * dimension)
        var expectedOut = [Float](), expectedGradient = prior.map(Double.init)
        for r in 0..<rows {
            for t in 0..<folds {
                let token = Int(tokens[r * folds + t])
                expectedOut += table[(token * dimension)..<((token + 1) * dimension)]
                for c in 0..<dimension { expectedGradient[token * dimension + c] += Double(dout[(r * folds + t) * dimension + c]) }
            }
        }
        for device in try opDevices() {
            let tok = try device.makeBuffer(tokens), out = try device.makeBuffer(count: rows * folds * dimension)
            try device.embeddingForward(tokens: tok.whole, table: try device.makeBuffer(table).whole, rows: rows, folds: folds,
                                        dimension: dimension, output: out.whole)
            #expect(try device.read(out.whole) == expectedOut, "\(device.name) embedding forward")
            let grad = try device.makeBuffer(prior)
            try device.embeddingBackward(tokens: tok.whole, outputGradient: try device.makeBuffer(dout).whole, rows: rows,
                                         folds: folds, dimension: dimension, vocabulary: vocabulary, tableGradient: grad.whole)
            expectClose(try device.read(grad.whole), expectedGradient, tolerance: 1e-6, "\(device.name) embedding backward")

            let indices = [3, 0, 10, 3]
            let gathered = try device.makeBuffer(count: indices.count * dimension)
            try device.gatherRows(source: try device.makeBuffer(table).whole, columns: dimension, indices: indices,
                                  into: gathered.whole)
            #expect(try device.read(gathered.whole) == indices.flatMap { table[($0 * dimension)..<(($0 + 1) * dimension)] })
            // The same rows with the indices already on the device, from an offset slice.
            let deviceIndices = try device.makeBuffer([7] + indices.map(Float.init)).slice(offset: 1, count: indices.count)
            try device.fill(gathered.whole, value: -1)
            try device.gatherRows(source: try device.makeBuffer(table).whole, columns: dimension, deviceIndices: deviceIndices,
                                  into: gathered.whole)
            #expect(try device.read(gathered.whole) == indices.flatMap { table[($0 * dimension)..<(($0 + 1) * dimension)] },
                    "\(device.name) gather with device indices")
            #expect(throws: ComputeError.self) {
                try device.gatherRows(source: try device.makeBuffer(table).whole, columns: dimension, indices: [11],
                                      into: try device.makeBuffer(count: dimension).whole)
            }
        }
    }
}
