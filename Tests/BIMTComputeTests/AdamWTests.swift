import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("AdamW")
struct AdamWTests {
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
            let bm = try device.makeBuffer([Float](repeating: 0, count: n))
            let bv = try device.makeBuffer([Float](repeating: 0, count: n))
            for (t, g) in gradients.enumerated() {
                try device.write(g, to: bg.whole)
                try device.adamW(
                    h, step: t + 1, parameters: bp.whole, gradients: bg.whole,
                    firstMoments: bm.whole, secondMoments: bv.whole)
            }
            expectClose(try device.read(bp.whole), p, tolerance: 1e-5, "\(device.name) AdamW parameters")
            expectClose(try device.read(bm.whole), m, tolerance: 1e-6, "\(device.name) AdamW first moments")
        }
    }

    @Test("a step before the first is a thrown error")
    func badInput() throws {
        let device = TestDevices.cpu()
        let a = try device.makeBuffer(count: 10)
        #expect(throws: ComputeError.self) {
            try device.adamW(
                AdamWHyperparameters(), step: 0, parameters: a.whole, gradients: a.whole,
                firstMoments: a.whole, secondMoments: a.whole)
        }
    }
}
