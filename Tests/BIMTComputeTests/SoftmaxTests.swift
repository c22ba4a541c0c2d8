import BIMTCompute
import Foundation
import Testing
import TestSupport

func referenceCausalSoftmax(_ x: [Double], rows: Int, length: Int) -> [Double] {
    var y = [Double](repeating: 0, count: x.count)
    for r in 0..<rows {
        let last = r % length, row = Array(x[(r * length)...(r * length + last)])
        let largest = row.max()!, total = row.reduce(0) { $0 + exp($1 - largest) }
        for c in 0...last { y[r * length + c] = exp(row[c] - largest) / total }
    }
    return y
}

@Suite("Softmax")
struct SoftmaxTests {
    @Test("row softmax, in place and out of place", arguments: [(1, 1), (3, 7), (129, 33), (7, 1000)])
    func softmax(shape: (Int, Int)) throws {
        let (rows, columns) = shape
        var generator = SeededGenerator(seed: 5)
        let x = generator.uniform(rows * columns, -30, 30)
        var expected = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            let row = x[(r * columns)..<((r + 1) * columns)].map(Double.init)
            let largest = row.max()!, total = row.reduce(0) { $0 + exp($1 - largest) }
            for c in 0..<columns { expected[r * columns + c] = exp(row[c] - largest) / total }
        }
        for device in try opDevices() {
            let bx = try device.makeBuffer(x), by = try device.makeBuffer(count: rows * columns)
            try device.softmaxRows(bx.whole, output: by.whole, rows: rows, columns: columns)
            expectClose(
                try device.read(by.whole), expected, tolerance: 1e-6, "\(device.name) softmax",
                columns: columns)
            try device.softmaxRows(bx.whole, output: bx.whole, rows: rows, columns: columns)
            expectClose(
                try device.read(bx.whole), expected, tolerance: 1e-6, "\(device.name) in-place softmax",
                columns: columns)
        }
    }

    @Test(
        "causal softmax forward vs double reference; softmax backward vs finite differences",
        arguments: [(2, 1), (3, 5), (2, 16)])
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
            let lp = zip(referenceCausalSoftmax(plus, rows: rows, length: length), probe)
                .reduce(0) { $0 + $1.0 * Double($1.1) }
            let lm = zip(referenceCausalSoftmax(minus, rows: rows, length: length), probe)
                .reduce(0) { $0 + $1.0 * Double($1.1) }
            return (lp - lm) / 2e-5
        }
        for device in try opDevices() {
            let bx = try device.makeBuffer(x), y = try device.makeBuffer(count: x.count)
            try device.softmaxCausal(bx.whole, output: y.whole, rows: rows, length: length)
            expectClose(
                try device.read(y.whole), expected, tolerance: 1e-6, "\(device.name) causal softmax",
                columns: length)
            let dx = try device.makeBuffer(count: x.count)
            try device.softmaxBackward(
                output: y.whole, outputGradient: try device.makeBuffer(probe).whole, rows: rows,
                columns: length, inputGradient: dx.whole)
            expectClose(
                try device.read(dx.whole), numeric, tolerance: 1e-4, "\(device.name) softmax backward",
                columns: length)
        }
        #expect(throws: ComputeError.self) {
            let d = Device.cpu()
            try d.softmaxCausal(
                try d.makeBuffer(count: 15).whole, output: try d.makeBuffer(count: 15).whole, rows: 5,
                length: 3)
        }
    }

    @Test("bad shapes are thrown errors")
    func badInput() throws {
        let device = TestDevices.cpu()
        let b = try device.makeBuffer(count: 12)
        #expect(throws: ComputeError.self) { try device.softmaxRows(b.whole, output: b.whole, rows: 0, columns: 12) }
    }
}
