/// OpenCL launches of Kernels/permute.cl.
extension OpenCLBackend {
    func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        let index = try scratchSlice(.permutation, count: indices.count)
        try indices.map(Float.init).withUnsafeBufferPointer { try write($0, to: index) }
        try gatherRows(source: source, columns: columns, deviceIndices: index, into: destination)
    }

    func gatherRows(
        source: BufferSlice, columns: Int, deviceIndices index: BufferSlice,
        into destination: BufferSlice
    ) throws {
        try enqueue.gatherRows(
            rows: index.count, cols: columns, src: source, perm: index, dst: destination,
            global: [columns, index.count], local: [min(groups.group, columns), 1])
    }

    func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        let indices = try scratchSlice(.permutation, count: permutation.count)
        try permutation.map(Float.init).withUnsafeBufferPointer { try write($0, to: indices) }
        let copy = try scratchSlice(.staging, count: x.count)
        try self.copy(x, to: copy)
        let (global, local) = ([columns, rows], [min(groups.group, columns), 1])
        if alongRows {
            try enqueue.gatherRows(
                rows: rows, cols: columns, src: copy, perm: indices, dst: x,
                global: global, local: local)
        } else {
            try enqueue.gatherColumns(
                rows: rows, cols: columns, src: copy, perm: indices, dst: x,
                global: global, local: local)
        }
    }
}
