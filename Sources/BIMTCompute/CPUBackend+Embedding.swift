// The CPU twin of Kernels/embedding.cl is Swift, not C: the forward is an index gather, one
// bulk copy of a table row per token, and the backward adds each token's gradient row into
// its table row, a short loop the compiler vectorizes; there is no arithmetic for C to speed up.
extension CPUBackend {
    func embeddingForward(
        tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
        output: BufferSlice
    ) throws {
        let tok = pointer(tokens), e = pointer(table), out = pointer(output)
        for r in 0..<rows {
            for t in 0..<folds {
                (out + (r * folds + t) * dimension).update(
                    from: e + Int(tok[r * folds + t]) * dimension,
                    count: dimension)
            }
        }
    }

    func embeddingBackward(
        tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int, dimension: Int,
        vocabulary: Int, tableGradient: BufferSlice
    ) throws {
        let tok = pointer(tokens), dout = pointer(outputGradient), de = pointer(tableGradient)
        for r in 0..<rows {
            for t in 0..<folds {
                let target = de + Int(tok[r * folds + t]) * dimension, source = dout + (r * folds + t) * dimension
                for c in 0..<dimension { target[c] += source[c] }
            }
        }
    }
}
