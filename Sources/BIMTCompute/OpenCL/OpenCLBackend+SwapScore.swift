/// OpenCL launches of Kernels/swap_score.cl.
extension OpenCLBackend {
    func swapScores(_ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
                    otherCoordinates: BufferSlice, scores: BufferSlice) throws {
        let arguments: [Argument] = [
            .int(pass.units), .int(pass.otherCount), .int(pass.folds), .int(pass.rowStride),
            .int(pass.otherStride), .float(pass.scale), .int(Int(pass.metric.code)),
            .int(pass.accumulate ? 1 : 0), .slice(weights), .slice(slotCoordinates),
            .slice(otherCoordinates), .slice(scores),
        ]
        if gemmVariant == .vector {
            // CPU-type device: register-blocked (SWAP_VW slots x SWAP_RU units per work-item).
            let blocks = [(pass.units + 15) / 16, (pass.units + 7) / 8]
            try launch("swap_score", "swap_scores_vector", arguments, global: blocks,
                       local: [min(2, blocks[0]), min(4, blocks[1])])
            return
        }
        try launch("swap_score", "swap_scores",
                   [.int(pass.units), .int(pass.otherCount), .int(pass.folds), .int(pass.rowStride),
                    .int(pass.otherStride), .float(pass.scale), .int(Int(pass.metric.code)),
                    .int(pass.accumulate ? 1 : 0), .slice(weights), .slice(slotCoordinates),
                    .slice(otherCoordinates), .slice(scores)],
                   global: [pass.units, pass.units], local: [min(16, pass.units), 1])
    }

    func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws {
        try launch("swap_score", "unit_abs_sums",
                   [.int(pass.units), .int(pass.otherCount), .int(pass.folds), .int(pass.rowStride),
                    .int(pass.otherStride), .float(pass.scale), .int(pass.accumulate ? 1 : 0),
                    .slice(weights), .slice(sums)],
                   global: [pass.units], local: [min(16, pass.units)])
    }

    func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws {
        try launch("swap_score", "swap_deltas", [.int(units), .slice(scores), .slice(deltas)],
                   global: [units, units], local: [min(16, units), 1])
    }
}
