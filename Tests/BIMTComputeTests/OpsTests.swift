import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Each pointwise op: the CPU path against a double-precision formula, and the OpenCL
/// device against the CPU path, on seeded inputs of sizes that fit no work-group.
let opSizes = [1, 7, 33, 129, 257, 1000, 70_001]

/// The devices under test for pointwise ops: the CPU path, plus OpenCL (see `TestDevices`).
func opDevices() throws -> [Device] { try TestDevices.all() }

/// The double-precision reference of each activation and its derivative.
func reference(_ activation: Activation, _ x: Double) -> (value: Double, derivative: Double) {
    switch activation {
    case .relu:
        return (max(x, 0), x > 0 ? 1 : 0)
    case .silu:
        let s = 1 / (1 + exp(-x))
        return (x * s, s * (1 + x * (1 - s)))
    case .gelu:
        let c = (2 / Double.pi).squareRoot(), u = c * (x + 0.044715 * x * x * x), t = tanh(u)
        return (0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
    case .tanh:
        let t = tanh(x)
        return (t, 1 - t * t)
    }
}

@Suite("Pointwise operations")
struct OpsTests {
    @Test("fill, copy, scale, axpy on offset slices")
    func basicOps() throws {
        for device in try opDevices() {
            for n in opSizes {
                var generator = SeededGenerator(seed: UInt64(n))
                let x = generator.uniform(n + 5), y = generator.uniform(n + 3)
                let dx = try device.makeBuffer(x), dy = try device.makeBuffer(y)
                let xs = dx.slice(offset: 5, count: n), ys = dy.slice(offset: 3, count: n)

                try device.axpy(alpha: -1.5, x: xs, y: ys)
                expectClose(try device.read(ys), (0..<n).map { Double(y[3 + $0]) - 1.5 * Double(x[5 + $0]) },
                            tolerance: 1e-6, "\(device.name) axpy n=\(n)")
                try device.scale(xs, by: 0.25)
                expectClose(try device.read(xs), (0..<n).map { 0.25 * Double(x[5 + $0]) },
                            tolerance: 1e-7, "\(device.name) scale n=\(n)")
                try device.copy(xs, to: ys)
                #expect(try device.read(ys) == device.read(xs), "\(device.name) copy n=\(n)")
                try device.fill(xs, value: 3.5)
                let whole = try device.read(dx.whole)
                #expect(whole[5...].allSatisfy { $0 == 3.5 } && Array(whole[..<5]) == Array(x[..<5]),
                        "\(device.name) fill n=\(n) must touch exactly its slice")
            }
        }
    }

    @Test("copy between overlapping ranges of one buffer behaves like memmove")
    func overlappingCopy() throws {
        for device in try opDevices() {
            let values = (0..<100).map(Float.init)
            let buffer = try device.makeBuffer(values)
            try device.copy(buffer.slice(offset: 0, count: 80), to: buffer.slice(offset: 10, count: 80))
            #expect(try device.read(buffer.whole) == Array(values[..<10]) + Array(values[..<80]) + Array(values[90...]),
                    "\(device.name)")
        }
    }

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
            expectClose(try device.read(out.whole), sums.map { 2 * $0 }, tolerance: 1e-5,
                        "\(device.name) accumulated column sum")
        }
    }

    @Test("activations: forward, and backward accumulating into dx", arguments: Activation.allCases)
    func activations(activation: Activation) throws {
        for device in try opDevices() {
            for n in opSizes {
                var generator = SeededGenerator(seed: UInt64(n) + 11)
                let x = generator.uniform(n, -6, 6), dy = generator.uniform(n), dx0 = generator.uniform(n)
                let bx = try device.makeBuffer(x), by = try device.makeBuffer(count: n)
                try device.activationForward(activation, input: bx.whole, output: by.whole)
                expectClose(try device.read(by.whole), x.map { reference(activation, Double($0)).value },
                            tolerance: 2e-6, "\(device.name) \(activation) forward n=\(n)")
                let bdy = try device.makeBuffer(dy), bdx = try device.makeBuffer(dx0)
                try device.activationBackward(activation, input: bx.whole, outputGradient: bdy.whole,
                                              inputGradient: bdx.whole)
                let expected = (0..<n).map { Double(dx0[$0]) + Double(dy[$0]) * reference(activation, Double(x[$0])).derivative }
                expectClose(try device.read(bdx.whole), expected, tolerance: 2e-6,
                            "\(device.name) \(activation) backward n=\(n)")
            }
        }
    }

    @Test("activation derivatives match finite differences of the forward pass", arguments: Activation.allCases)
    func derivativesMatchFiniteDifferences(activation: Activation) {
        for x in stride(from: -4.0, through: 4.0, by: 0.37) where activation != .relu || abs(x) > 1e-3 {
            let h = 1e-6
            let numeric = (reference(activation, x + h).value - reference(activation, x - h).value) / (2 * h)
            #expect(abs(numeric - reference(activation, x).derivative) < 1e-6, "\(activation) at \(x)")
        }
    }

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
            expectClose(try device.read(by.whole), expected, tolerance: 1e-6, "\(device.name) softmax", columns: columns)
            try device.softmaxRows(bx.whole, output: bx.whole, rows: rows, columns: columns)
            expectClose(try device.read(bx.whole), expected, tolerance: 1e-6, "\(device.name) in-place softmax",
                        columns: columns)
        }
    }

    @Test("fused AdamW matches PyTorch's update rule over several steps", arguments: [Float(0), Float(0.1)])
    func adamW(weightDecay: Float) throws {
        let n = 1000
        let h = AdamWHyperparameters(learningRate: 1e-2, weightDecay: weightDecay)
        var generator = SeededGenerator(seed: 9)
        let p0 = generator.uniform(n), gradients = (0..<3).map { _ in generator.uniform(n) }
        // Reference in double precision.
        var p = p0.map(Double.init), m = [Double](repeating: 0, count: n), v = m
        for (t, g) in gradients.enumerated() {
            let b1 = Double(h.beta1), b2 = Double(h.beta2), lr = Double(h.learningRate)
            let c1 = 1 - pow(b1, Double(t + 1)), c2 = 1 - pow(b2, Double(t + 1))
            for i in 0..<n {
                p[i] -= lr * Double(weightDecay) * p[i]
                m[i] = b1 * m[i] + (1 - b1) * Double(g[i])
                v[i] = b2 * v[i] + (1 - b2) * Double(g[i]) * Double(g[i])
                p[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + Double(h.epsilon))
            }
        }
        for device in try opDevices() {
            let bp = try device.makeBuffer(p0), bg = try device.makeBuffer(count: n)
            let bm = try device.makeBuffer([Float](repeating: 0, count: n)), bv = try device.makeBuffer([Float](repeating: 0, count: n))
            for (t, g) in gradients.enumerated() {
                try device.write(g, to: bg.whole)
                try device.adamW(h, step: t + 1, parameters: bp.whole, gradients: bg.whole,
                                 firstMoments: bm.whole, secondMoments: bv.whole)
            }
            expectClose(try device.read(bp.whole), p, tolerance: 1e-5, "\(device.name) AdamW parameters")
            expectClose(try device.read(bm.whole), m, tolerance: 1e-6, "\(device.name) AdamW first moments")
        }
    }

    @Test("mismatched sizes and bad arguments are thrown errors")
    func badInput() throws {
        let device = TestDevices.cpu()
        let a = try device.makeBuffer(count: 10), b = try device.makeBuffer(count: 12)
        #expect(throws: ComputeError.self) { try device.axpy(alpha: 1, x: a.whole, y: b.whole) }
        #expect(throws: ComputeError.self) { try device.copy(a.whole, to: b.whole) }
        #expect(throws: ComputeError.self) { try device.addBias(a.whole, to: b.whole, rows: 3, columns: 4) }
        #expect(throws: ComputeError.self) { try device.softmaxRows(b.whole, output: b.whole, rows: 0, columns: 12) }
        #expect(throws: ComputeError.self) {
            try device.adamW(AdamWHyperparameters(), step: 0, parameters: a.whole, gradients: a.whole,
                             firstMoments: a.whole, secondMoments: a.whole)
        }
        #expect(throws: ComputeError.self) { try device.makeBuffer(count: 0) }
        #expect(throws: ComputeError.self) { try device.write([1, 2, 3], to: a.whole) }
    }
}
