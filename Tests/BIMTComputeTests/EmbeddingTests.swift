import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Embeddings")
struct EmbeddingTests {
    @Test("embedding lookup with folds, and its backward")
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
                for c in 0..<dimension {
                    expectedGradient[token * dimension + c] += Double(dout[(r * folds + t) * dimension + c])
                }
            }
        }
        for device in try opDevices() {
            let tok = try device.makeBuffer(tokens), out = try device.makeBuffer(count: rows * folds * dimension)
            try device.embeddingForward(
                tokens: tok.whole, table: try device.makeBuffer(table).whole, rows: rows,
                folds: folds, dimension: dimension, output: out.whole)
            #expect(try device.read(out.whole) == expectedOut, "\(device.name) embedding forward")
            let grad = try device.makeBuffer(prior)
            try device.embeddingBackward(
                tokens: tok.whole, outputGradient: try device.makeBuffer(dout).whole,
                rows: rows, folds: folds, dimension: dimension, vocabulary: vocabulary,
                tableGradient: grad.whole)
            expectClose(
                try device.read(grad.whole), expectedGradient, tolerance: 1e-6,
                "\(device.name) embedding backward")
        }
    }
}
