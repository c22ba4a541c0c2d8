import BIMTCompute
import Foundation
import Testing
import TestSupport

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

@Suite("Activations")
struct ActivationTests {
    @Test("activations: forward, and backward accumulating into dx", arguments: Activation.allCases)
    func activations(activation: Activation) throws {
        for device in try opDevices() {
            for n in opSizes {
                var generator = SeededGenerator(seed: UInt64(n) + 11)
                let x = generator.uniform(n, -6, 6), dy = generator.uniform(n), dx0 = generator.uniform(n)
                let bx = try device.makeBuffer(x), by = try device.makeBuffer(count: n)
                try device.activationForward(activation, input: bx.whole, output: by.whole)
                expectClose(
                    try device.read(by.whole), x.map { reference(activation, Double($0)).value },
                    tolerance: 2e-6, "\(device.name) \(activation) forward n=\(n)")
                let bdy = try device.makeBuffer(dy), bdx = try device.makeBuffer(dx0)
                try device.activationBackward(
                    activation, input: bx.whole, outputGradient: bdy.whole,
                    inputGradient: bdx.whole)
                let expected = (0..<n).map {
                    Double(dx0[$0]) + Double(dy[$0]) * reference(activation, Double(x[$0])).derivative
                }
                expectClose(
                    try device.read(bdx.whole), expected, tolerance: 2e-6,
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
}
