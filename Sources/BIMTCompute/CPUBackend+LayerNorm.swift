import CBIMTKernels

// The CPU twin of Kernels/layernorm.cl: the row loops are vectorized C
// (Sources/CBIMTKernels/layernorm.c), split over the cores.
extension CPUBackend {
    func layerNormForward(
        _ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int, epsilon: Float,
        output: BufferSlice, mean: BufferSlice, rstd: BufferSlice
    ) throws {
        let px = pointer(x), g = pointer(gamma), b = pointer(beta), y = pointer(output), pm = pointer(mean),
            ps = pointer(rstd)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            bimt_layernorm_forward_rows(
                Int32(columns), Int32(range.lowerBound), Int32(range.upperBound), epsilon, px, g, b, y, pm, ps)
        }
    }

    func layerNormBackward(
        _ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
        rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
        gammaGradient: BufferSlice, betaGradient: BufferSlice
    ) throws {
        let px = pointer(x), g = pointer(gamma), dy = pointer(outputGradient), pm = pointer(mean), ps = pointer(rstd)
        let dx = pointer(inputGradient), dg = pointer(gammaGradient), db = pointer(betaGradient)
        // Each chunk of rows sums its own gamma/beta partials; they are added in chunk order.
        let partials = parallelResults(rows, grain: max(1, (1 << 13) / columns)) { range -> [Float] in
            var partial = [Float](repeating: 0, count: 2 * columns)
            partial.withUnsafeMutableBufferPointer { p in
                bimt_layernorm_backward_rows(
                    Int32(columns), Int32(range.lowerBound), Int32(range.upperBound), px, g, dy, pm, ps, dx,
                    p.baseAddress!, p.baseAddress! + columns)
            }
            return partial
        }
        for partial in partials {
            for c in 0..<columns {
                dg[c] += partial[c]
                db[c] += partial[columns + c]
            }
        }
    }
}
