/// OpenCL launches of Kernels/elementwise.cl.
extension OpenCLBackend {
    func fill(_ x: BufferSlice, value: Float) throws {
        try launch("elementwise", "fill", [.int(x.count), .float(value), .slice(x)],
                   global: [x.count], local: pointwiseLocal)
    }

    func copy(_ x: BufferSlice, to y: BufferSlice) throws {
        if x.buffer === y.buffer && x.offset < y.offset + y.count && y.offset < x.offset + x.count {
            guard x.offset != y.offset else { return }
            // Overlapping ranges of one buffer: go through scratch, as memmove would.
            let staging = try scratchSlice(.staging, count: x.count)
            try launch("elementwise", "copy", [.int(x.count), .slice(x), .slice(staging)],
                       global: [x.count], local: pointwiseLocal)
            try launch("elementwise", "copy", [.int(x.count), .slice(staging), .slice(y)],
                       global: [x.count], local: pointwiseLocal)
            return
        }
        try launch("elementwise", "copy", [.int(x.count), .slice(x), .slice(y)],
                   global: [x.count], local: pointwiseLocal)
    }

    func scale(_ x: BufferSlice, by alpha: Float) throws {
        try launch("elementwise", "scale", [.int(x.count), .float(alpha), .slice(x)],
                   global: [x.count], local: pointwiseLocal)
    }

    func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws {
        try launch("elementwise", "axpy", [.int(x.count), .float(alpha), .slice(x), .slice(y)],
                   global: [x.count], local: pointwiseLocal)
    }
}
