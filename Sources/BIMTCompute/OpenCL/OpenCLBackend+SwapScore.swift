/// OpenCL launches of Kernels/swap_score.cl.
extension OpenCLBackend {
    func swapScores(
        _ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
        otherCoordinates: BufferSlice, scores: BufferSlice
    ) throws {
        let (m, metric, accumulate) = (pass.units, Int(pass.metric.code), pass.accumulate ? 1 : 0)
        if gemmVariant == .vector {
            // CPU-type device: register-blocked (SWAP_VW slots x SWAP_RU units per work-item).
            let (slots, units) = (constants.swapSlotsPerItem.value, constants.swapUnitsPerItem.value)
            let blocks = [(m + slots - 1) / slots, (m + units - 1) / units]
            try enqueue.swapScoresVector(
                m: m, I: pass.otherCount, F: pass.folds, sJ: pass.rowStride, sI: pass.otherStride, wscale: pass.scale,
                metric: metric, accumulate: accumulate, W: weights, slots: slotCoordinates, other: otherCoordinates,
                C: scores, global: blocks, local: [min(2, blocks[0]), min(4, blocks[1])])
            return
        }
        try enqueue.swapScores(
            m: m, I: pass.otherCount, F: pass.folds, sJ: pass.rowStride, sI: pass.otherStride, wscale: pass.scale,
            metric: metric, accumulate: accumulate, W: weights, slots: slotCoordinates, other: otherCoordinates,
            C: scores, global: [m, m], local: [min(groups.group, m), 1])
    }

    func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws {
        try enqueue.unitAbsSums(
            m: pass.units, I: pass.otherCount, F: pass.folds, sJ: pass.rowStride, sI: pass.otherStride,
            wscale: pass.scale, accumulate: pass.accumulate ? 1 : 0, W: weights, S: sums,
            global: [pass.units], local: [min(groups.group, pass.units)])
    }

    func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws {
        try enqueue.swapDeltas(
            m: units, C: scores, D: deltas, global: [units, units], local: [min(groups.group, units), 1])
    }
}
