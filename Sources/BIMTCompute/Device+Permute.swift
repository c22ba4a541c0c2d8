/// Row gathers and neuron permutations of a matrix (Kernels/permute.cl).
extension Device {
    /// destination row i = source row indices[i] (a mini-batch from a dataset on the device).
    public func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        try require(source, destination)
        try check(
            columns >= 1 && source.count % columns == 0,
            "gather: a source of \(source.count) is not rows of \(columns)")
        try check(
            destination.count == indices.count * columns,
            "gather: destination \(destination.count) for \(indices.count) rows of \(columns)")
        let rows = source.count / columns
        guard indices.allSatisfy({ $0 >= 0 && $0 < rows }) else {
            throw ComputeError.invalidArgument("gather: an index is outside the source's \(rows) rows")
        }
        guard !indices.isEmpty else { return }
        try backend.gatherRows(source: source, columns: columns, indices: indices, into: destination)
    }

    /// The same with the row indices already on the device (float-encoded, as labels are):
    /// no upload, so a model can gather fixed rows every step. Their range is the caller's
    /// to check once, when it makes them.
    public func gatherRows(
        source: BufferSlice, columns: Int, deviceIndices: BufferSlice,
        into destination: BufferSlice
    ) throws {
        try require(source, deviceIndices, destination)
        try check(
            columns >= 1 && source.count % columns == 0,
            "gather: a source of \(source.count) is not rows of \(columns)")
        try check(
            destination.count == deviceIndices.count * columns,
            "gather: destination \(destination.count) for \(deviceIndices.count) rows of \(columns)")
        guard deviceIndices.count > 0 else { return }
        try backend.gatherRows(source: source, columns: columns, deviceIndices: deviceIndices, into: destination)
    }

    /// Permutes the rows (or columns) of a row-major [rows, columns] matrix in place: new
    /// row i is old row permutation[i].
    public func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        try owned(x)
        try positive(rows, columns, "permuted matrix")
        try expect(x.count == rows * columns, "permute: [\(rows), \(columns)] matrix but the slice holds \(x.count)")
        let length = alongRows ? rows : columns
        try expect(
            permutation.count == length,
            "permute: \(permutation.count) indices for \(length) \(alongRows ? "rows" : "columns")")
        guard isPermutation(permutation) else {
            throw ComputeError.invalidArgument("permute: \(permutation) is not a permutation of 0..<\(length)")
        }
        try backend.permute(x, rows: rows, columns: columns, permutation: permutation, alongRows: alongRows)
    }
}

/// Whether `values` holds each of 0 ..< values.count exactly once.
public func isPermutation(_ values: [Int]) -> Bool {
    var seen = [Bool](repeating: false, count: values.count)
    for v in values {
        guard (0..<values.count).contains(v), !seen[v] else { return false }
        seen[v] = true
    }
    return true
}
