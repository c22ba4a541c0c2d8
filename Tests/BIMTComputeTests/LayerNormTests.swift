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
        for c in 0..<columns {
            y[r * columns + c] = (row[c] - mean) / (variance + 1e-5).squareRoot() * gamma[c] + beta[c]
        }
    }
    return y
}

@Suite("LayerNorm")
struct LayerNormTests {
    @Test(
        "LayerNorm forward vs double reference; backward vs finite differences",
        arguments: [(3, 7), (17, 33), (4, 128), (150, 9)])
    func layerNorm(shape: (Int, Int)) throws {
        let (rows, columns) = shape
        var generator = SeededGenerator(seed: UInt64(rows * columns))
        let x = generator.uniform(rows * columns, -2, 2), gamma = generator.uniform(columns, 0.5, 1.5)
        let beta = generator.uniform(columns)
        let probe = generator.uniform(rows * columns) // L = <y, probe>
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
            let y = try device.makeBuffer(count: x.count), mean = try device.makeBuffer(count: rows)
            let rstd = try device.makeBuffer(count: rows)
            try device.layerNormForward(
                bx.whole, gamma: bg.whole, beta: bb.whole, rows: rows, columns: columns,
                output: y.whole, mean: mean.whole, rstd: rstd.whole)
            expectClose(
                try device.read(y.whole), referenceLayerNorm(xd, gd, bd, rows: rows, columns: columns),
                tolerance: 1e-5,
                "\(device.name) layer norm", columns: columns)
            let zeros = [Float](repeating: 0, count: x.count)
            let dx = try device.makeBuffer(zeros), dg = try device.makeBuffer([Float](repeating: 0, count: columns))
            let db = try device.makeBuffer([Float](repeating: 0, count: columns))
            try device.layerNormBackward(
                bx.whole, gamma: bg.whole, outputGradient: try device.makeBuffer(probe).whole,
                mean: mean.whole, rstd: rstd.whole, rows: rows, columns: columns,
                inputGradient: dx.whole, gammaGradient: dg.whole, betaGradient: db.whole)
            expectClose(
                try device.read(dx.whole), dxExpected, tolerance: 1e-4, "\(device.name) layer norm dx",
                columns: columns)
            expectClose(try device.read(dg.whole), dgExpected, tolerance: 1e-4, "\(device.name) layer norm dgamma")
            expectClose(try device.read(db.whole), dbExpected, tolerance: 1e-4, "\(device.name) layer norm dbeta")
        }
    }
}
