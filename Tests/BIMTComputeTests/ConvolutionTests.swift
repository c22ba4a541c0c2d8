import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Direct double-precision NHWC convolution: out[n, oy, ox, o] = sum W[o, ky, kx, c] x[n, iy, ix, c].
func referenceConvolution(_ s: ConvolutionShape, x: [Double], weights: [Double], outputs: Int) -> [Double] {
    var out = [Double](repeating: 0, count: s.patchCount * outputs)
    for n in 0..<s.batch {
        for oy in 0..<s.outputHeight {
            for ox in 0..<s.outputWidth {
                for o in 0..<outputs {
                    var sum = 0.0
                    for ky in 0..<s.kernelHeight {
                        for kx in 0..<s.kernelWidth {
                            let iy = oy * s.stride + ky - s.padding, ix = ox * s.stride + kx - s.padding
                            guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                            for c in 0..<s.channels {
                                sum +=
                                    weights[((o * s.kernelHeight + ky) * s.kernelWidth + kx) * s.channels + c]
                                    * x[((n * s.height + iy) * s.width + ix) * s.channels + c]
                            }
                        }
                    }
                    out[((n * s.outputHeight + oy) * s.outputWidth + ox) * outputs + o] = sum
                }
            }
        }
    }
    return out
}

let convolutionShapes = [
    ConvolutionShape(
        batch: 2, height: 7, width: 5, channels: 3, kernelHeight: 3, kernelWidth: 3, stride: 1,
        padding: 1),
    ConvolutionShape(
        batch: 3, height: 9, width: 8, channels: 2, kernelHeight: 3, kernelWidth: 2, stride: 2,
        padding: 0),
    ConvolutionShape(
        batch: 1, height: 6, width: 6, channels: 1, kernelHeight: 5, kernelWidth: 5, stride: 1,
        padding: 2),
    // 19 channels: a vector of 16 and a scalar tail in the CPU path's col2im.
    ConvolutionShape(
        batch: 2, height: 5, width: 4, channels: 19, kernelHeight: 3, kernelWidth: 3, stride: 1,
        padding: 1),
    // Padding wider than the image: kernel rows wholly outside, taps cut on both sides.
    ConvolutionShape(
        batch: 2, height: 3, width: 2, channels: 2, kernelHeight: 7, kernelWidth: 7, stride: 2,
        padding: 3),
]

@Suite("Convolution")
struct ConvolutionTests {
    @Test("im2col + GEMM is the convolution; col2im is its adjoint (finite differences)", arguments: convolutionShapes)
    func convolution(shape: ConvolutionShape) throws {
        let outputs = 4
        var generator = SeededGenerator(seed: 7)
        let x = generator.uniform(shape.inputCount), w = generator.uniform(outputs * shape.patchSize)
        let r = generator.uniform(shape.patchCount * outputs)
        let expected = referenceConvolution(shape, x: x.map(Double.init), weights: w.map(Double.init), outputs: outputs)
        // dL/dx for L = <conv(x), r>, by central differences (L is linear in x: exact up to rounding).
        var numeric = [Double](repeating: 0, count: x.count)
        let base = x.map(Double.init)
        for i in 0..<x.count {
            var plus = base, minus = base
            plus[i] += 0.5
            minus[i] -= 0.5
            let lp = zip(referenceConvolution(shape, x: plus, weights: w.map(Double.init), outputs: outputs), r)
                .reduce(0) { $0 + $1.0 * Double($1.1) }
            let lm = zip(referenceConvolution(shape, x: minus, weights: w.map(Double.init), outputs: outputs), r)
                .reduce(0) { $0 + $1.0 * Double($1.1) }
            numeric[i] = lp - lm
        }
        var results: [[Float]] = []
        for device in try opDevices() {
            let columns = try device.makeBuffer(count: shape.patchCount * shape.patchSize)
            try device.im2col(shape, input: try device.makeBuffer(x).whole, columns: columns.whole)
            let out = try device.makeBuffer(count: shape.patchCount * outputs)
            let weights = try device.makeBuffer(w)
            try device.gemm(
                GemmOperation(m: shape.patchCount, n: outputs, k: shape.patchSize, transposeB: true),
                a: columns.whole, b: weights.whole, c: out.whole)
            expectClose(
                try device.read(out.whole), expected, tolerance: 1e-5, "\(device.name) convolution",
                columns: outputs)
            // Backward: dcols = r W, dx = col2im(dcols).
            let dcols = try device.makeBuffer(count: shape.patchCount * shape.patchSize)
            try device.gemm(
                GemmOperation(m: shape.patchCount, n: shape.patchSize, k: outputs),
                a: try device.makeBuffer(r).whole, b: weights.whole, c: dcols.whole)
            let dx = try device.makeBuffer([Float](repeating: 0, count: x.count))
            try device.col2im(shape, columnGradient: dcols.whole, inputGradient: dx.whole)
            let gradient = try device.read(dx.whole)
            expectClose(gradient, numeric, tolerance: 1e-5, "\(device.name) convolution input gradient")
            results.append(gradient)
        }
        if results.count == 2 { #expect(maxRelativeError(results[1], results[0]) < 1e-6) }
    }

    @Test("bad convolution shapes are thrown errors")
    func badShapes() throws {
        let device = Device.cpu()
        let buffer = try device.makeBuffer(count: 64)
        #expect(throws: ComputeError.self) {
            try device.im2col(
                ConvolutionShape(
                    batch: 1, height: 2, width: 2, channels: 1, kernelHeight: 5,
                    kernelWidth: 5),
                input: buffer.slice(offset: 0, count: 4), columns: buffer.whole)
        }
    }
}
