import CBIMTKernels
import Foundation

// The CPU twins of Kernels/elementwise.cl, bias.cl, activation.cl, softmax.cl and
// adamw.cl: the same formulas, loops the optimizer vectorizes, split over the cores.
extension CPUBackend {
    func fill(_ x: BufferSlice, value: Float) throws {
        let px = pointer(x)
        parallelChunks(x.count) { range in
            (px + range.lowerBound).update(repeating: value, count: range.count)
        }
    }

    func copy(_ x: BufferSlice, to y: BufferSlice) throws {
        // `update(from:)` is memmove: overlapping slices of one buffer are fine.
        pointer(y).update(from: pointer(x), count: x.count)
    }

    func scale(_ x: BufferSlice, by alpha: Float) throws {
        let px = pointer(x)
        parallelChunks(x.count) { range in
            for i in range { px[i] *= alpha }
        }
    }

    func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws {
        let px = pointer(x), py = pointer(y)
        parallelChunks(x.count) { range in
            for i in range { py[i] += alpha * px[i] }
        }
    }

    func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws {
        let pb = pointer(bias), px = pointer(x)
        parallelChunks(rows, grain: max(1, (1 << 15) / columns)) { range in
            for r in range {
                let row = px + r * columns
                for c in 0..<columns { row[c] += pb[c] }
            }
        }
    }

    func sumColumns(_ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice, accumulate: Bool) throws {
        let px = pointer(x)
        // Bands of whole rows (each core streams its rows once), not columns (every core would read every row).
        bandedSums(rows, width: columns, grain: max(1, (1 << 15) / columns), into: pointer(out), accumulate: accumulate) { range, partial in
            for r in range {
                let row = px + r * columns
                for c in 0..<columns { partial[c] += row[c] }
            }
        }
    }

    func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws {
        let px = pointer(input), py = pointer(output), kind = activation.kernelCode
        parallelChunks(input.count, grain: 1 << 14) { range in
            bimt_activation_forward(kind, range.count, px + range.lowerBound, py + range.lowerBound)
        }
    }

    func activationBackward(_ activation: Activation, input: BufferSlice,
                            outputGradient: BufferSlice, inputGradient: BufferSlice) throws {
        let px = pointer(input), pdy = pointer(outputGradient), pdx = pointer(inputGradient), kind = activation.kernelCode
        parallelChunks(input.count, grain: 1 << 14) { range in
            let start = range.lowerBound
            bimt_activation_backward(kind, range.count, px + start, pdy + start, pdx + start)
        }
    }

    func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws {
        let px = pointer(x), py = pointer(output)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            for r in range {
                let xr = px + r * columns, yr = py + r * columns
                var largest = xr[0]
                for c in 1..<max(1, columns) { largest = max(largest, xr[c]) }
                var sum: Float = 0
                for c in 0..<columns {
                    let e = exp(xr[c] - largest)
                    yr[c] = e
                    sum += e
                }
                let inverse = 1 / sum
                for c in 0..<columns { yr[c] *= inverse }
            }
        }
    }

    func adamW(_ h: AdamWHyperparameters, step: Int, parameters: BufferSlice, gradients: BufferSlice,
               firstMoments: BufferSlice, secondMoments: BufferSlice, clipping: GradientClipping?, decayMask: BufferSlice?) throws {
        let (c1, c2) = h.biasCorrections(step: step)
        let p = pointer(parameters), g = pointer(gradients)
        let m = pointer(firstMoments), v = pointer(secondMoments)
        let lr = h.learningRate, b1 = h.beta1, b2 = h.beta2, eps = h.epsilon, decay = h.learningRate * h.weightDecay
        let scale = clipping.map { GradientClipping.scale(maximumNorm: $0.maximumNorm, normSquared: pointer($0.normSquared)[0]) } ?? 1
        // One element's update at decay rate `rate` (lr * weight decay, times its mask value).
        @inline(__always) func update(_ i: Int, _ rate: Float) {
            let grad = g[i] * scale
            let mi = b1 * m[i] + (1 - b1) * grad
            let vi = b2 * v[i] + (1 - b2) * grad * grad
            m[i] = mi
            v[i] = vi
            p[i] = (p[i] - rate * p[i]) - lr * (mi / c1) / ((vi / c2).squareRoot() + eps)
        }
        // Two loops, so neither carries a branch per element: with a mask, and without (every
        // parameter decays, as a mask of ones would).
        if let mask = decayMask.map(pointer) {
            parallelChunks(parameters.count) { range in for i in range { update(i, decay * mask[i]) } }
        } else {
            parallelChunks(parameters.count) { range in for i in range { update(i, decay) } }
        }
    }

    func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws {
        let input = pointer(x), output = pointer(y), threshold = DropoutMask.threshold(rate), scale = DropoutMask.scale(rate)
        parallelChunks(x.count) { range in
            bimt_dropout(Int32(range.lowerBound), Int32(range.upperBound), key, threshold, scale, input, output)
        }
    }

    func squaredNorm(_ x: BufferSlice, into out: BufferSlice) throws {
        // Blocks of 2^15 summed in double, in parallel; the block sums added in order (deterministic).
        let values = pointer(x), count = x.count, block = 1 << 15, blocks = max(1, (count + block - 1) / block)
        var partial = [Double](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { sums in
            let base = sums.baseAddress!
            parallelChunks(blocks, grain: 1) { range in
                for b in range {
                    var sum: Double = 0
                    for i in (b * block)..<min(count, (b + 1) * block) { sum += Double(values[i]) * Double(values[i]) }
                    base[b] = sum
                }
            }
        }
        pointer(out)[0] = Float(partial.reduce(0, +))
    }
}

extension Activation {
    /// The `kind` argument of the C twins.
    var kernelCode: Int32 {
        switch self {
        case .relu: 0
        case .silu: 1
        case .gelu: 2
        case .tanh: 3
        }
    }
}

