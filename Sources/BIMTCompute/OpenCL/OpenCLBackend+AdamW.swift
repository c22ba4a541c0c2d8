/// OpenCL launches of Kernels/adamw.cl.
extension OpenCLBackend {
    func adamW(
        _ h: AdamWHyperparameters, step: Int, parameters: BufferSlice, gradients: BufferSlice,
        firstMoments: BufferSlice, secondMoments: BufferSlice, clipping: GradientClipping?,
        decayMask: BufferSlice?
    ) throws {
        let (c1, c2) = h.biasCorrections(step: step)
        // Unused buffer arguments point at the parameters (the kernel does not read them).
        try enqueue.adamwStep(
            n: parameters.count, lr: h.learningRate, beta1: h.beta1, beta2: h.beta2,
            eps: h.epsilon, weightDecay: h.weightDecay, c1: c1, c2: c2,
            p: parameters, g: gradients, m: firstMoments, v: secondMoments,
            maxNorm: clipping?.maximumNorm ?? 0, normSq: clipping?.normSquared ?? parameters,
            useMask: decayMask == nil ? 0 : 1, mask: decayMask ?? parameters,
            global: [parameters.count], local: pointwiseLocal)
    }

    func squaredNorm(_ x: BufferSlice, into out: BufferSlice) throws {
        let local = constants.normLocal.value, groups = max(1, min(256, (x.count + local - 1) / local))
        let partial = try scratchSlice(.partialSums, count: groups)
        try enqueue.squaredNormPartial(n: x.count, x: x, partial: partial, global: [groups * local], local: [local])
        try reduceSum(partial, accumulate: false, into: out)
    }
}
