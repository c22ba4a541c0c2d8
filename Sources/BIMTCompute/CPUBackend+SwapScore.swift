import CBIMTKernels

// The CPU twin of Kernels/swap_score.cl: the hot loops are C (Sources/CBIMTKernels/
// swap_score.c, AVX-512/AVX2 chosen at run time), split over the cores here.
extension CPUBackend {
    func swapScores(
        _ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
        otherCoordinates: BufferSlice, scores: BufferSlice
    ) throws {
        let w = pointer(weights), s = pointer(slotCoordinates), o = pointer(otherCoordinates), c = pointer(scores)
        let work = pass.units * pass.otherCount * pass.folds
        parallelChunks(pass.units, grain: max(8, (1 << 16) / max(1, work))) { range in
            bimt_swap_scores(
                Int32(pass.units), Int32(pass.otherCount), Int32(pass.folds), Int32(pass.rowStride),
                Int32(pass.otherStride), pass.scale, pass.metric.code, pass.accumulate ? 1 : 0,
                Int32(range.lowerBound), Int32(range.upperBound), w, s, o, c)
        }
    }

    func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws {
        bimt_unit_abs_sums(
            Int32(pass.units), Int32(pass.otherCount), Int32(pass.folds), Int32(pass.rowStride),
            Int32(pass.otherStride), pass.scale, pass.accumulate ? 1 : 0, pointer(weights),
            pointer(sums))
    }

    func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws {
        let c = pointer(scores), d = pointer(deltas)
        for j in 0..<units {
            for k in 0..<units {
                d[j * units + k] = c[j * units + k] + c[k * units + j] - c[j * units + j] - c[k * units + k]
            }
        }
    }
}
