/// OpenCL launches of Kernels/permute.cl.
extension OpenCLBackend {
    func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        let index = try scratchSlice(.permutation, count: indices.count)
        try indices.map(Float.init).withUnsafeBufferPointer { try write($0, to: index) }
        try gatherRows(source: source, columns: columns, deviceIndices: index, into: destination)
    }

    func gatherRows(source: BufferSlice, columns: Int, deviceIndices index: BufferSlice,
                    into destination: BufferSlice) throws {
        try launch("permute", "gather_rows",
                   [.int(index.count), .int(columns), .slice(source), .slice(index), .slice(destination)],
                   global: [columns, index.count], local: [min(16, columns), 1])
    }

    func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        let indices = try scratchSlice(.permutation, count: permutation.count)
        try permutation.map(Float.init).withUnsafeBufferPointer { try write($0, to: indices) }
        let copy = try scratchSlice(.staging, count: x.count)
        try self.copy(x, to: copy)
        try launch("permute", alongRows ? "gather_rows" : "gather_columns",
                   [.int(rows), .int(columns), .slice(copy), .slice(indices), .slice(x)],
                   global: [columns, rows], local: [min(16, columns), 1])
    }
}
