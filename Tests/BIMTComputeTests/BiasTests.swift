import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Bias add and column sums")
struct BiasTests {
    // (2001, 40): the CPU path sums two bands of rows, 1001 and 1000.
    @Test("bias add and column sums", arguments: [(1, 1), (7, 33), (129, 7), (1000, 257), (2001, 40)])
    func biasAndColumnSum(shape: (Int, Int)) throws {
        let (rows, columns) = shape
        var generator = SeededGenerator(seed: 3)
        let x = generator.uniform(rows * columns), bias = generator.uniform(columns), prior = generator.uniform(columns)
        for device in try opDevices() {
            let dx = try device.makeBuffer(x), db = try device.makeBuffer(bias)
            try device.addBias(db.whole, to: dx.whole, rows: rows, columns: columns)
            let added = (0..<rows * columns).map { Double(x[$0]) + Double(bias[$0 % columns]) }
            expectClose(try device.read(dx.whole), added, tolerance: 1e-6, "\(device.name) bias add", columns: columns)

            let sums = (0..<columns).map { c in (0..<rows).reduce(0.0) { $0 + added[$1 * columns + c] } }
            let out = try device.makeBuffer(prior)
            try device.sumColumns(dx.whole, rows: rows, columns: columns, into: out.whole)
            expectClose(try device.read(out.whole), sums, tolerance: 1e-5, "\(device.name) column sum")
            try device.sumColumns(dx.whole, rows: rows, columns: columns, into: out.whole, accumulate: true)
            expectClose(
                try device.read(out.whole), sums.map { 2 * $0 }, tolerance: 1e-5,
                "\(device.name) accumulated column sum")
        }
    }

    @Test("mismatched sizes are thrown errors")
    func badInput() throws {
        let device = TestDevices.cpu()
        let a = try device.makeBuffer(count: 10), b = try device.makeBuffer(count: 12)
        #expect(throws: ComputeError.self) { try device.addBias(a.whole, to: b.whole, rows: 3, columns: 4) }
    }
}
