@testable import BIMT
import BIMTCompute
import Foundation
import Testing
import TestSupport

/// A tiny conv net: size x size x 1 images (8: 8 -> 4 -> 2; 7 pools in floor mode,
/// 7 -> 3 -> 1), blocks of 2 and 3 channels (3x3, 2x2 pooling), a dense head -> 4 -> 3.
func tinyConvNet(activation: Activation = .tanh, pool: String = "avg", size: Int = 8, device: Device = Device.cpu())
    throws -> ConvNet
{
    let convolution = ConvNetArchitecture(
        imageHeight: size, imageWidth: size, imageChannels: 1, channels: [2, 3], kernelSize: 3,
        pool: pool, poolSize: 2)
    let head = MLPArchitecture(widths: [convolution.flattenedWidth, 4, 3], activation: activation, layout: .line)
    let net = try ConvNet(
        convolution: convolution, head: head, costSettings: CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean),
        device: device)
    try net.initialize(seed: 5)
    return net
}

/// Double-precision forward of `net` with parameters `p` on NHWC images `x`; MSE against `t`.
func convNetLoss(_ net: ConvNet, _ p: [Float], _ x: [Float], _ t: [Float], rows: Int) -> Double {
    let conv = net.convolution, k = conv.kernelSize
    let relu = net.head.activation == .relu, isMax = conv.pool == "max"
    func f(_ v: Double) -> Double { relu ? max(v, 0) : tanh(v) }
    var total = 0.0
    for r in 0..<rows {
        var (h, w, c) = (conv.imageHeight, conv.imageWidth, conv.imageChannels)
        var a = (0..<(h * w * c)).map { Double(x[r * h * w * c + $0]) }
        for (b, o) in conv.channels.enumerated() {
            let weight = net.network.connections[b].weight, bias = net.network.connections[b].bias!
            var y = [Double](repeating: 0, count: h * w * o)
            for oy in 0..<h {
                for ox in 0..<w {
                    for oc in 0..<o {
                        var s = Double(p[bias.offset + oc])
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let iy = oy + ky - k / 2, ix = ox + kx - k / 2
                                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                for ic in 0..<c {
                                    s +=
                                        Double(p[weight.offset + ((oc * k + ky) * k + kx) * c + ic])
                                        * a[(iy * w + ix) * c + ic]
                                }
                            }
                        }
                        y[(oy * w + ox) * o + oc] = f(s)
                    }
                }
            }
            var pooled = [Double](repeating: 0, count: (h / 2) * (w / 2) * o)
            for py in 0..<(h / 2) {
                for px in 0..<(w / 2) {
                    for oc in 0..<o {
                        let window = (0..<4).map { y[((2 * py + $0 / 2) * w + 2 * px + $0 % 2) * o + oc] }
                        pooled[(py * (w / 2) + px) * o + oc] = isMax ? window.max()! : window.reduce(0, +) / 4
                    }
                }
            }
            (h, w, c) = (h / 2, w / 2, o)
            a = pooled
        }
        let dense = Array(net.network.connections[conv.channels.count...])
        for (i, cn) in dense.enumerated() {
            var y = [Double](repeating: 0, count: cn.weight.rows)
            for row in 0..<cn.weight.rows {
                var s = Double(p[cn.bias!.offset + row])
                for j in 0..<cn.weight.columns { s += Double(p[cn.weight.offset + row * cn.weight.columns + j]) * a[j] }
                y[row] = i == dense.count - 1 ? s : f(s)
            }
            a = y
        }
        for (i, v) in a.enumerated() { total += pow(v - Double(t[r * a.count + i]), 2) }
    }
    return total / Double(rows * 3)
}

@Suite("Conv net")
struct ConvNetTests {
    /// budget: floats per im2col buffer (nil: the default; 400 sends 7x7 images through block 0
    /// one image at a time and block 1 two at a time, recomputing the columns backwards, and
    /// block 1's column gradient one image at a time).
    /// relu: ReLU and max pooling (the activation written over the preactivation) instead of
    /// tanh and average pooling; on 8x8 images only: at 7x7 (a 1x1 max over ReLUs at the end)
    /// central differences with step 1e-3 straddle kinks (18 of the parameters; 1 at step 1e-4).
    @Test(
        """
        conv net gradients match finite differences of a double-precision forward pass \
        (whole and floor-mode pooling, whole and chunked im2col, tanh + average and in-place ReLU + max)
        """,
        arguments: TestDevices.names,
        [(8, nil, false), (7, nil, false), (8, 400, false), (7, 400, false), (8, nil, true), (8, 400, true)]
            as [(Int, Int?, Bool)])
    func gradients(device name: String, case: (size: Int, budget: Int?, relu: Bool)) throws {
        let net = try tinyConvNet(
            activation: `case`.relu ? .relu : .tanh, pool: `case`.relu ? "max" : "avg", size: `case`.size,
            device: try TestDevices.named(name))
        let device = net.device, rows = 3
        #expect(net.activatesInPlace == `case`.relu)
        if let budget = `case`.budget {
            net.columnBudget = budget
            net.columnGradientBudget = budget / 2 // block 1's input gradient one image at a time
        }
        var generator = SeededGenerator(seed: 3)
        let x = generator.uniform(rows * `case`.size * `case`.size), t = generator.uniform(rows * 3)
        let p = try device.read(net.parameters.whole)
        try device.fill(net.gradients.whole, value: 0)
        let input = try device.makeBuffer(x)
        let output = try net.forward(input: input.whole, rows: rows)
        let dOut = try device.makeBuffer(count: output.count), loss = try device.makeBuffer([0])
        try device.mseLoss(
            output: output, target: try device.makeBuffer(t).whole, outputGradient: dOut.whole, loss: loss.whole)
        expectClose(
            Double(try device.read(loss.whole)[0]), convNetLoss(net, p, x, t, rows: rows), relative: 1e-5, "loss")
        try net.backward(input: input.whole, rows: rows, outputGradient: dOut.whole)
        let gradient = try device.read(net.gradients.whole)
        for i in p.indices {
            var plus = p, minus = p
            plus[i] += 1e-3
            minus[i] -= 1e-3
            let numeric =
                (convNetLoss(net, plus, x, t, rows: rows) - convNetLoss(net, minus, x, t, rows: rows))
                / (Double(plus[i]) - Double(minus[i]))
            #expect(
                abs(Double(gradient[i]) - numeric) <= 1e-4 + 1e-3 * abs(numeric),
                "parameter \(i): \(gradient[i]) vs \(numeric)")
        }
    }

    @Test("channel swaps leave a conv net's outputs unchanged", arguments: [RelocationMethod.greedy, .assignment])
    func channelSwapInvariance(method: RelocationMethod) throws {
        for pool in ["max", "avg"] {
            let net = try tinyConvNet(activation: .relu, pool: pool), device = net.device
            var generator = SeededGenerator(seed: 8)
            let input = try device.makeBuffer(generator.uniform(4 * 64))
            let before = try device.read(try net.forward(input: input.whole, rows: 4))
            let report = try net.geometry.relocate(
                parameters: net.parameters.whole, settings: RelocationSettings(method: method, topK: 3))
            #expect(report.totalMoved > 0, "nothing moved")
            let after = try device.read(try net.forward(input: input.whole, rows: 4))
            #expect(maxRelativeError(after, before) < 1e-5, "\(pool) \(method): outputs changed")
            // The two views of each channel sheet moved together.
            #expect(net.network.permutations[1] == Array(net.network.permutations[2].prefix(2)))
        }
    }

    @Test("conv checkpoints use PyTorch's layouts and round-trip exactly")
    func checkpointLayout() throws {
        let net = try tinyConvNet()
        let values = try net.device.read(net.parameters.whole)
        let exported = net.exportTensors(values).map { SafeTensors.Tensor.float32($0.name, shape: $0.shape, $0.values) }
        let file = try SafeTensors(bytes: try SafeTensors.encode(exported, metadata: [:]))
        #expect(
            file.tensors["convs.0.weight"]?.shape == [2, 1, 3, 3]
                && file.tensors["convs.1.weight"]?.shape == [3, 2, 3, 3])
        #expect(file.tensors["head.0.weight"]?.shape == [4, 12])
        // PyTorch's convs.1.weight[o, c, ky, kx] is internal [o, ky, kx, c].
        let torch = try file.floats("convs.1.weight").values, w = net.network.connections[1].weight
        #expect(torch[((2 * 2 + 1) * 3 + 0) * 3 + 2] == values[w.offset + ((2 * 3 + 0) * 3 + 2) * 2 + 1])
        var reloaded = [Float](repeating: 0, count: values.count)
        try net.importTensors(
            from: try Checkpoint(bytes: try SafeTensors.encode(exported, metadata: [:])).parameters,
            into: &reloaded)
        #expect(reloaded == values)
    }
}
