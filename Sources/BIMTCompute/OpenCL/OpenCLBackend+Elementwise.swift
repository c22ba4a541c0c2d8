/// OpenCL launches of Kernels/elementwise.cl.
extension OpenCLBackend {
    func fill(_ x: BufferSlice, value: Float) throws {
        try enqueue.fill(n: x.count, value: value, x: x, global: [x.count], local: pointwiseLocal)
    }

    func copy(_ x: BufferSlice, to y: BufferSlice) throws {
        if x.buffer === y.buffer && x.offset < y.offset + y.count && y.offset < x.offset + x.count {
            guard x.offset != y.offset else { return }
            // Overlapping ranges of one buffer: go through scratch, as memmove would.
            let staging = try scratchSlice(.staging, count: x.count)
            try enqueue.copy(n: x.count, x: x, y: staging, global: [x.count], local: pointwiseLocal)
            try enqueue.copy(n: x.count, x: staging, y: y, global: [x.count], local: pointwiseLocal)
            return
        }
        try enqueue.copy(n: x.count, x: x, y: y, global: [x.count], local: pointwiseLocal)
    }

    func scale(_ x: BufferSlice, by alpha: Float) throws {
        try enqueue.scale(n: x.count, alpha: alpha, x: x, global: [x.count], local: pointwiseLocal)
    }

    func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws {
        try enqueue.axpy(n: x.count, alpha: alpha, x: x, y: y, global: [x.count], local: pointwiseLocal)
    }
}
