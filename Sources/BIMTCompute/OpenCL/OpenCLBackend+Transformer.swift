/// OpenCL launches of Kernels/layernorm.cl and softmax.cl's causal and backward kernels.
extension OpenCLBackend {
    func layerNormForward(_ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int, epsilon: Float,
                          output: BufferSlice, mean: BufferSlice, rstd: BufferSlice) throws {
        try launch("layernorm", "layernorm_forward",
                   [.int(rows), .int(columns), .float(epsilon), .slice(x), .slice(gamma), .slice(beta), .slice(output),
                    .slice(mean), .slice(rstd)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
    }

    func layerNormBackward(_ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
                           rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
                           gammaGradient: BufferSlice, betaGradient: BufferSlice) throws {
        try launch("layernorm", "layernorm_backward_input",
                   [.int(rows), .int(columns), .slice(x), .slice(gamma), .slice(outputGradient), .slice(mean), .slice(rstd),
                    .slice(inputGradient)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
        try launch("layernorm", "layernorm_backward_parameters",
                   [.int(rows), .int(columns), .slice(x), .slice(outputGradient), .slice(mean), .slice(rstd),
                    .slice(gammaGradient), .slice(betaGradient)],
                   global: [columns], local: [min(16, device.maxWorkGroupSize)])
    }

    func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        try launch("softmax", "softmax_causal", [.int(rows), .int(length), .slice(x), .slice(output)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
    }

    func softmaxBackward(output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
                         inputGradient: BufferSlice) throws {
        try launch("softmax", "softmax_backward",
                   [.int(rows), .int(columns), .slice(output), .slice(outputGradient), .slice(inputGradient)],
                   global: [rows], local: [min(16, device.maxWorkGroupSize)])
    }
}
