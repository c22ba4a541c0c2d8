/// OpenCL launches of Kernels/softmax.cl.
extension OpenCLBackend {
    func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws {
        let rowLocal = constants.rowLocal.value
        try enqueue.softmaxRows(
            rows: rows, cols: columns, x: x, y: output,
            global: [rows * rowLocal], local: [rowLocal])
    }

    func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        let rowLocal = constants.rowLocal.value
        try enqueue.softmaxCausal(rows: rows, T: length, x: x, y: output, global: [rows * rowLocal], local: [rowLocal])
    }

    func softmaxBackward(
        output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
        inputGradient: BufferSlice
    ) throws {
        let rowLocal = constants.rowLocal.value
        try enqueue.softmaxBackward(
            rows: rows, cols: columns, y: output, dy: outputGradient, dx: inputGradient,
            global: [rows * rowLocal], local: [rowLocal])
    }
}
