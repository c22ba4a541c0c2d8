/// OpenCL launches of Kernels/adamw.cl.
extension OpenCLBackend {
    func adamW(_ h: AdamWHyperparameters, step: Int, parameters: BufferSlice, gradients: BufferSlice,
               firstMoments: BufferSlice, secondMoments: BufferSlice, clipping: GradientClipping?,
               decayMask: BufferSlice?) throws {
        let (c1, c2) = h.biasCorrections(step: step)
        // Unused buffer arguments point at the parameters (the kernel does not read them).
        try launch("adamw", "adamw_step",
                   [.int(parameters.count), .float(h.learningRate), .float(h.beta1), .float(h.beta2),
                    .float(h.epsilon), .float(h.weightDecay), .float(c1), .float(c2),
                    .slice(parameters), .slice(gradients), .slice(firstMoments), .slice(secondMoments),
                    .float(clipping?.maximumNorm ?? 0), .slice(clipping?.normSquared ?? parameters),
                    .int(decayMask == nil ? 0 : 1), .slice(decayMask ?? parameters)],
                   global: [parameters.count], local: pointwiseLocal)
    }

    func squaredNorm(_ x: BufferSlice, into out: BufferSlice) throws {
        let local = 64, groups = max(1, min(256, (x.count + local - 1) / local))
        let partial = try scratchSlice(.partialSums, count: groups)
        try launch("adamw", "squared_norm_partial", [.int(x.count), .slice(x), .slice(partial)],
                   global: [groups * local], local: [local])
        try reduceSum(partial, accumulate: false, into: out)
    }
}
