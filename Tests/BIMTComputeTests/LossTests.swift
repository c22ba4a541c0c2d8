import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Losses")
struct LossTests {
    @Test("MSE loss and gradient", arguments: [1, 7, 257, 1000])
    func mse(n: Int) throws {
        var generator = SeededGenerator(seed: UInt64(n))
        let y = generator.uniform(n), t = generator.uniform(n)
        let expectedLoss = zip(y, t).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(n)
        for device in try opDevices() {
            let dy = try device.makeBuffer(count: n), loss = try device.makeBuffer([0.5])
            try device.mseLoss(
                output: try device.makeBuffer(y).whole, target: try device.makeBuffer(t).whole,
                outputGradient: dy.whole, loss: loss.whole)
            expectClose(try device.read(loss.whole), [0.5 + expectedLoss], tolerance: 1e-6, "\(device.name) MSE loss")
            expectClose(
                try device.read(dy.whole), zip(y, t).map { 2 * (Double($0) - Double($1)) / Double(n) },
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
            let dz = try device.makeBuffer(count: rows * columns), l = try device.makeBuffer([0])
            let hit = try device.makeBuffer([2])
            try device.crossEntropy(
                logits: try device.makeBuffer(z).whole, labels: try device.makeBuffer(labels).whole,
                rows: rows, columns: columns, logitGradient: dz.whole, loss: l.whole,
                correct: hit.whole)
            expectClose(try device.read(l.whole), [loss], tolerance: 1e-6, "\(device.name) cross-entropy loss")
            #expect(try device.read(hit.whole) == [Float(2 + hits)], "\(device.name) accuracy count")
            expectClose(
                try device.read(dz.whole), gradient, tolerance: 1e-6, "\(device.name) cross-entropy gradient",
                columns: columns)
        }
    }
}
