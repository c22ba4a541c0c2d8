// The CPU twin of Kernels/adamw.cl is Swift, not C: the AdamW update is a memory-bound
// loop of a few multiply-adds per parameter that the compiler vectorizes (two loops, so
// neither branches on the decay mask per element), and the squared norm sums blocks in
// double, added in block order. Both are split over the cores.
extension CPUBackend {
    func adamW(
        _ h: AdamWHyperparameters, step: Int, parameters: BufferSlice, gradients: BufferSlice,
        firstMoments: BufferSlice, secondMoments: BufferSlice, clipping: GradientClipping?,
        decayMask: BufferSlice?
    ) throws {
        let (c1, c2) = h.biasCorrections(step: step)
        let p = pointer(parameters), g = pointer(gradients)
        let m = pointer(firstMoments), v = pointer(secondMoments)
        let lr = h.learningRate, b1 = h.beta1, b2 = h.beta2, eps = h.epsilon, decay = h.learningRate * h.weightDecay
        let scale =
            clipping.map {
                GradientClipping.scale(maximumNorm: $0.maximumNorm, normSquared: pointer($0.normSquared)[0])
            } ?? 1
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
