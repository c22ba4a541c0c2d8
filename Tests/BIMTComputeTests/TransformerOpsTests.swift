import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Double-precision LayerNorm of one [rows, columns] matrix.
func referenceLayerNorm(_ x: [Double], _ gamma: [Double], _ beta: [Double], rows: Int, columns: Int) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for r in 0..<rows {
        let row = Array(x[(r * columns)..<((r + 1) * columns)])
        let mean = row.reduce(0, +) / Double(columns)
        let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(columns)
        for c in 0..<columns { y[r * columns + c] = (row[c] - mean) / (variance + 1e-5).squareRoot() * gamma[c] + beta[c] }
    }
    return y
}

func referenceCausalSoftmax(_ x: [Double], rows: Int, length: Int) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for r in 0..<rows {
        let last = r % length, row = Array(x[(r * length)...(r * length + last)])
        let largest = row.max()!, total = row.reduce(0) { $0 + exp($1 - largest) }
        for c in 0...last { y[r * length + c] = exp(row[c] - largest) / total }
    }
    return y
}

@Suite("Transformer operations")
struct TransformerOpsTests {
    @Test("LayerNorm forward vs double reference; backward vs finite differences", arguments: [(3, 7), (17, 33), (4, 128), (150, 9)])
    func layerNorm(shape: (Int, Int)) throws {
        let (rows, columns) = shape
        var generator = SeededGenerator(seed: UInt64(rows * columns))
        let x = generator.uniform(rows * columns, -2, 2), gamma = generator.uniform(columns, 0.5, 1.5), beta = generator.uniform(columns)
        let probe = generator.uniform(rows * columns)   // L = <y, probe>
        let xd = x.map(Double.init), gd = gamma.map(Double.init), bd = beta.map(Double.init)
        func loss(_ x: [Double], _ g: [Double], _ b: [Double]) -> Double {
            zip(referenceLayerNorm(x, g, b, rows: rows, columns: columns), probe).reduce(0) { $0 + $1.0 * Double($1.1) }
        }
        func numeric(_ values: [Double], _ f: ([Double]) -> Double) -> [Double] {
            values.indices.map { i in
                var plus = values, minus = values
                plus[i] += 1e-5
                minus[i] -= 1e-5
                return (f(plus) - f(minus)) / 2e-5
            }
        }
        let dxExpected = numeric(xd) { loss($0, gd, bd) }, dgExpected = numeric(gd) { loss(xd, $0, bd) }
        let dbExpected = numeric(bd) { loss(xd, gd, $0) }
        for device in try opDevices() {
            let bx = try device.makeBuffer(x), bg = try device.makeBuffer(gamma), bb = try device.makeBuffer(beta)
            let y = try device.makeBuffer(count: x.count), mean = try device.makeBuffer(count: rows), rstd = try device.makeBuffer(count: rows)
            try device.layerNormForward(bx.whole, gamma: bg.whole, beta: bb.whole, rows: rows, columns: columns,
                                        output: y.whole, mean: mean.whole, rstd: rstd.whole)
            expectClose(try device.read(y.whole), referenceLayerNorm(xd, gd, bd, rows: rows, columns: columns), tolerance: 1e-5,
                        "\(device.name) layer norm", columns: columns)
            let zeros = [Float](repeating: 0, count: x.count)
            let dx = try device.makeBuffer(zeros), dg = try device.makeBuffer([Float](repeating: 0, count: columns))
            let db = try device.makeBuffer([Float](repeating: 0, count: columns))
            try device.layerNormBackward(bx.whole, gamma: bg.whole, outputGradient: try device.makeBuffer(probe).whole,
                                         mean: mean.whole, rstd: rstd.whole, rows: rows, columns: columns,
                                         inputGradient: dx.whole, gammaGradient: dg.whole, betaGradient: db.whole)
            expectClose(try device.read(dx.whole), dxExpected, tolerance: 1e-4, "\(device.name) layer norm dx", columns: columns)
            expectClose(try device.read(dg.whole), dgExpected, tolerance: 1e-4, "\(device.name) layer norm dgamma")
            expectClose(try device.read(db.whole), dbExpected, tolerance: 1e-4, "\(device.name) layer norm dbeta")
        }
    }

    @Test("causal softmax forward vs double reference; softmax backward vs finite differences", arguments: [(2, 1), (3, 5), (2, 16)])
    func causalSoftmax(shape: (Int, Int)) throws {
        let (heads, length) = shape, rows = heads * length
        var generator = SeededGenerator(seed: UInt64(rows))
        let x = generator.uniform(rows * length, -4, 4), probe = generator.uniform(rows * length)
        let xd = x.map(Double.init)
        let expected = referenceCausalSoftmax(xd, rows: rows, length: length)
        let numeric = xd.indices.map { i -> Double in
            var plus = xd, minus = xd
            plus[i] += 1e-5
            minus[i] -= 1e-5
            let lp = zip(referenceCausalSoftmax(plus, rows: rows, length: length), probe).reduce(0) { $0 + $1.0 * Double($1.1) }
            let lm = zip(referenceCausalSoftmax(minus, rows: rows, length: length), probe).reduce(0) { $0 + $1.0 * Double($1.1) }
            return (lp - lm) / 2e-5
        }
        for device in try opDevices() {
            let bx = try device.makeBuffer(x), y = try device.makeBuffer(count: x.count)
            try device.softmaxCausal(bx.whole, output: y.whole, rows: rows, length: length)
            expectClose(try device.read(y.whole), expected, tolerance: 1e-6, "\(device.name) causal softmax", columns: length)
            let dx = try device.makeBuffer(count: x.count)
            try device.softmaxBackward(output: y.whole, outputGradient: try device.makeBuffer(probe).whole, rows: rows,
                                       columns: length, inputGradient: dx.whole)
            expectClose(try device.read(dx.whole), numeric, tolerance: 1e-4, "\(device.name) softmax backward", columns: length)
        }
        #expect(throws: ComputeError.self) {
            let d = Device.cpu()
            try d.softmaxCausal(try d.makeBuffer(count: 15).whole, output: try d.makeBuffer(count: 15).whole, rows: 5, length: 3)
        }
    }
}
