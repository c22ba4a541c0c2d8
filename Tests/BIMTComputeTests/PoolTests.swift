import BIMTCompute
import Foundation
import Testing
import TestSupport

func referencePool(_ s: PoolShape, _ x: [Double]) -> [Double] {
    let (Ho, Wo, K) = (s.height / s.size, s.width / s.size, s.size)
    var y = [Double](repeating: 0, count: s.outputCount)
    for n in 0..<s.batch {
        for oy in 0..<Ho {
            for ox in 0..<Wo {
                for c in 0..<s.channels {
                    var values: [Double] = []
                    for ky in 0..<K {
                        for kx in 0..<K {
                            values.append(x[((n * s.height + oy * K + ky) * s.width + ox * K + kx) * s.channels + c])
                        }
                    }
                    y[((n * Ho + oy) * Wo + ox) * s.channels + c] =
                        s.isMax ? values.max()! : values.reduce(0, +) / Double(K * K)
                }
            }
        }
    }
    return y
}

@Suite("Pooling")
struct PoolTests {
    @Test("max pooling's gradient goes to the window's first maximum when values tie, on every device; it adds to dx")
    func poolingTies() throws {
        // One image 2 x 4, two channels, 2 x 2 windows (pixels 0, 1, 4, 5 and 2, 3, 6, 7).
        // Channel 0 ties everywhere (the first pixel wins); channel 1 has 5 at pixels 1 and 5
        // (pixel 1 wins) and ties at 0 in the second window (pixel 2 wins).
        let shape = PoolShape(batch: 1, height: 2, width: 4, channels: 2, size: 2, isMax: true)
        let x: [Float] = [
            1, 0, 1, 5, 2, 0, 2, 0,
            1, 3, 1, 5, 2, 0, 2, 0,
        ]
        for device in try TestDevices.all() {
            let dx = try device.makeBuffer([Float](repeating: 0.5, count: x.count))
            try device.poolBackward(
                shape, input: try device.makeBuffer(x).whole,
                outputGradient: try device.makeBuffer([10, 20, 30, 40]).whole,
                inputGradient: dx.whole)
            let expected: [Float] = [
                10.5, 0.5, 0.5, 20.5, 30.5, 40.5, 0.5, 0.5,
                0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5,
            ]
            #expect(try device.read(dx.whole) == expected, "\(device.name)")
        }
    }

    @Test(
        "max and average pooling, whole windows and floor mode: forward, and backward vs finite differences",
        arguments: [true, false], [[6, 4, 2], [7, 5, 2], [7, 8, 3]])
    func pooling(isMax: Bool, sizes: [Int]) throws {
        let shape = PoolShape(batch: 2, height: sizes[0], width: sizes[1], channels: 3, size: sizes[2], isMax: isMax)
        var generator = SeededGenerator(seed: 11)
        let x = generator.uniform(shape.inputCount), r = generator.uniform(shape.outputCount)
        let base = x.map(Double.init)
        var numeric = [Double](repeating: 0, count: x.count)
        for i in 0..<x.count {
            var plus = base, minus = base
            plus[i] += 1e-4
            minus[i] -= 1e-4
            let lp = zip(referencePool(shape, plus), r).reduce(0) { $0 + $1.0 * Double($1.1) }
            let lm = zip(referencePool(shape, minus), r).reduce(0) { $0 + $1.0 * Double($1.1) }
            numeric[i] = (lp - lm) / 2e-4
        }
        for device in try opDevices() {
            let input = try device.makeBuffer(x), y = try device.makeBuffer(count: shape.outputCount)
            try device.poolForward(shape, input: input.whole, output: y.whole)
            expectClose(
                try device.read(y.whole), referencePool(shape, base), tolerance: 1e-6,
                "\(device.name) pool forward")
            // The backward adds to dx; rows and columns past the last window keep their value.
            let dx = try device.makeBuffer([Float](repeating: 0.25, count: x.count))
            try device.poolBackward(
                shape, input: input.whole, outputGradient: try device.makeBuffer(r).whole,
                inputGradient: dx.whole)
            expectClose(
                try device.read(dx.whole), numeric.map { $0 + 0.25 }, tolerance: 1e-4,
                "\(device.name) pool backward")
        }
    }

    @Test(
        "fused pooling + activation backward = their separate backwards; it overwrites, and adds the bias gradient",
        arguments: [true, false], [[6, 4, 2], [7, 5, 2], [7, 8, 3]])
    func poolActivationBackward(isMax: Bool, sizes: [Int]) throws {
        // 19 channels: a vector of 16 and a scalar tail on the CPU path.
        let shape = PoolShape(batch: 2, height: sizes[0], width: sizes[1], channels: 19, size: sizes[2], isMax: isMax)
        var generator = SeededGenerator(seed: 21)
        let pre = generator.uniform(shape.inputCount).map { $0 * 2 - 1 }, dy = generator.uniform(shape.outputCount)
        for device in try opDevices() {
            for activation in Activation.allCases {
                let preBuffer = try device.makeBuffer(pre), post = try device.makeBuffer(count: pre.count)
                try device.activationForward(activation, input: preBuffer.whole, output: post.whole)
                if isMax { // ties: two equal maxima in the first window of every channel
                    var values = try device.read(post.whole)
                    for c in 0..<shape.channels { values[shape.channels + c] = values[c] }
                    try device.write(values, to: post.whole)
                }
                let dyBuffer = try device.makeBuffer(dy)
                let dPost = try device.makeBuffer([Float](repeating: 0, count: pre.count))
                let expected = try device.makeBuffer([Float](repeating: 0, count: pre.count))
                try device.poolBackward(
                    shape, input: post.whole, outputGradient: dyBuffer.whole,
                    inputGradient: dPost.whole)
                try device.activationBackward(
                    activation, input: preBuffer.whole, outputGradient: dPost.whole,
                    inputGradient: expected.whole)
                let fused = try device.makeBuffer([Float](repeating: .nan, count: pre.count))
                try device.poolActivationBackward(
                    shape, activation: activation, preactivation: preBuffer.whole,
                    input: post.whole,
                    outputGradient: dyBuffer.whole, preactivationGradient: fused.whole)
                let label = "\(device.name) \(activation) \(isMax ? "max" : "avg") \(sizes)"
                let want = try device.read(expected.whole)
                expectClose(try device.read(fused.whole), want, tolerance: 1e-6, label)
                // With the bias gradient: added to what was there, each channel's sum over the batch.
                let prior = (0..<shape.channels).map { Float($0) }
                let biasGradient = try device.makeBuffer(prior)
                let again = try device.makeBuffer([Float](repeating: .nan, count: pre.count))
                try device.poolActivationBackward(
                    shape, activation: activation, preactivation: preBuffer.whole,
                    input: post.whole,
                    outputGradient: dyBuffer.whole, preactivationGradient: again.whole,
                    biasGradient: biasGradient.whole)
                expectClose(try device.read(again.whole), want, tolerance: 1e-6, "\(label) with the bias gradient")
                let sums = (0..<shape.channels).map { c in
                    stride(from: c, to: want.count, by: shape.channels)
                        .reduce(Double(prior[c])) { $0 + Double(want[$1]) }
                }
                expectClose(try device.read(biasGradient.whole), sums, tolerance: 1e-5, "\(label) bias gradient")
            }
        }
    }

    @Test(
        "fused bias + activation + pooling equals bias add, activation, then pooling, every activation, floor mode",
        arguments: [true, false], [[6, 4, 2], [7, 5, 2], [7, 8, 3]])
    func biasActivationPool(isMax: Bool, sizes: [Int]) throws {
        // 19 channels: a vector of 16 and a scalar tail on the CPU path.
        let shape = PoolShape(batch: 2, height: sizes[0], width: sizes[1], channels: 19, size: sizes[2], isMax: isMax)
        var generator = SeededGenerator(seed: 23)
        let z = generator.uniform(shape.inputCount).map { $0 * 4 - 2 }
        let bias = generator.uniform(shape.channels).map { $0 - 0.5 }
        for device in try opDevices() {
            for activation in Activation.allCases {
                let label = "\(device.name) \(activation) \(isMax ? "max" : "avg") \(sizes)"
                let biasBuffer = try device.makeBuffer(bias)
                let pre = try device.makeBuffer(z), post = try device.makeBuffer(count: z.count)
                let pooled = try device.makeBuffer(count: shape.outputCount)
                try device.addBias(
                    biasBuffer.whole, to: pre.whole, rows: shape.inputCount / shape.channels,
                    columns: shape.channels)
                try device.activationForward(activation, input: pre.whole, output: post.whole)
                try device.poolForward(shape, input: post.whole, output: pooled.whole)
                let fusedPre = try device.makeBuffer(z)
                let fusedPost = try device.makeBuffer([Float](repeating: .nan, count: z.count))
                let fusedPooled = try device.makeBuffer([Float](repeating: .nan, count: shape.outputCount))
                try device.biasActivationPool(
                    shape, activation: activation, bias: biasBuffer.whole,
                    preactivation: fusedPre.whole,
                    activated: fusedPost.whole, output: fusedPooled.whole)
                expectClose(
                    try device.read(fusedPre.whole), try device.read(pre.whole), tolerance: 1e-6,
                    "\(label) preactivation")
                expectClose(
                    try device.read(fusedPost.whole), try device.read(post.whole), tolerance: 1e-6,
                    "\(label) activated")
                expectClose(
                    try device.read(fusedPooled.whole), try device.read(pooled.whole), tolerance: 1e-6,
                    "\(label) pooled")
            }
        }
        let device = Device.cpu()
        let small = try device.makeBuffer(count: 4)
        #expect(throws: ComputeError.self) {
            try device.biasActivationPool(
                shape, activation: .relu, bias: small.whole, preactivation: small.whole,
                activated: small.whole, output: small.whole)
        }
    }

    @Test("bad pooling shapes are thrown errors")
    func badShapes() throws {
        let device = Device.cpu()
        let buffer = try device.makeBuffer(count: 64)
        #expect(throws: ComputeError.self) {
            try device.poolForward(
                PoolShape(batch: 1, height: 1, width: 4, channels: 1, size: 2, isMax: true),
                input: buffer.slice(offset: 0, count: 4), output: buffer.slice(offset: 0, count: 2))
        }
    }
}
