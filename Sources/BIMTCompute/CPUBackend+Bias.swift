// The CPU twin of Kernels/bias.cl is Swift, not C: adding a bias row and summing columns
// are memory-bound loops over contiguous rows that the compiler vectorizes; the column sum
// goes through `bandedSums`, so its result does not depend on timing.
extension CPUBackend {
    func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws {
        let pb = pointer(bias), px = pointer(x)
        parallelChunks(rows, grain: max(1, (1 << 15) / columns)) { range in
            for r in range {
                let row = px + r * columns
                for c in 0..<columns { row[c] += pb[c] }
            }
        }
    }

    func sumColumns(_ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice, accumulate: Bool) throws {
        let px = pointer(x)
        // Bands of whole rows (each core streams its rows once), not columns (every core would read every row).
        bandedSums(
            rows, width: columns, grain: max(1, (1 << 15) / columns), into: pointer(out),
            accumulate: accumulate
        ) { range, partial in
            for r in range {
                let row = px + r * columns
                for c in 0..<columns { partial[c] += row[c] }
            }
        }
    }
}
