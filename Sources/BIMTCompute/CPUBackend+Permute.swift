// The CPU twin of Kernels/permute.cl is Swift, not C: gathers and permutations are index
// gathers, bulk copies of whole rows (or single floats for columns) with no arithmetic.
extension CPUBackend {
    func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        let src = pointer(source), dst = pointer(destination)
        for (i, row) in indices.enumerated() { (dst + i * columns).update(from: src + row * columns, count: columns) }
    }

    func gatherRows(
        source: BufferSlice, columns: Int, deviceIndices: BufferSlice,
        into destination: BufferSlice
    ) throws {
        let src = pointer(source), dst = pointer(destination), rows = pointer(deviceIndices)
        for i in 0..<deviceIndices.count {
            (dst + i * columns).update(from: src + Int(rows[i]) * columns, count: columns)
        }
    }

    func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        let p = pointer(x), count = rows * columns
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { copy.deallocate() }
        copy.update(from: p, count: count)
        if alongRows {
            for (r, from) in permutation.enumerated() {
                (p + r * columns).update(from: copy + from * columns, count: columns)
            }
        } else {
            for r in 0..<rows {
                let target = p + r * columns, source = copy + r * columns
                for (c, from) in permutation.enumerated() { target[c] = source[from] }
            }
        }
    }
}
