/// OpenCL launches of Kernels/softmax.cl.
extension OpenCLBackend {
    func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws {
        try launch("softmax", "softmax_rows", [.int(rows), .int(columns), .slice(x), .slice(output)],
                   global: [rows * rowLocal], local: [rowLocal])
    }

    func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        try launch("softmax", "softmax_causal", [.int(rows), .int(length), .slice(x), .slice(output)],
                   global: [rows * rowLocal], local: [rowLocal])
    }

    func softmaxBackward(output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
                         inputGradient: BufferSlice) throws {
        try launch("softmax", "softmax_backward",
                   [.int(rows), .int(columns), .slice(output), .slice(outputGradient), .slice(inputGradient)],
                   global: [rows * rowLocal], local: [rowLocal])
    }
}
