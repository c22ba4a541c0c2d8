/// OpenCL launches of the BIMT kernels (Kernels/connection_cost.cl, swap_score.cl, permute.cl).
extension OpenCLBackend {
    /// Work-items per row in the connection-cost kernels (COST_LOCAL).
    var costLocal: Int { 64 }

    func connectionCost(_ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
                        outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice) throws {
        let partial = try scratchSlice(.partialSums, count: pass.rows)
        try launch("connection_cost", "connection_cost_rows",
                   [.int(pass.rows), .int(pass.columns), .float(pass.weightFactor), .float(pass.l0),
                    .float(pass.costScale), .float(pass.gradientScale), .int(Int(pass.metric.code)),
                    .int(gradient == nil ? 0 : 1), .slice(weights), .slice(gradient ?? weights),
                    .slice(outCoordinates), .slice(inCoordinates), .slice(partial)],
                   global: [costLocal, pass.rows], local: [costLocal, 1])
        try reduceSum(partial, accumulate: true, into: cost)
    }

    func l1Cost(values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float, gradientScale: Float,
                cost: BufferSlice) throws {
        let groups = (values.count + costLocal - 1) / costLocal
        let partial = try scratchSlice(.partialSums, count: groups)
        try launch("connection_cost", "l1_cost",
                   [.int(values.count), .float(l0), .float(costScale), .float(gradientScale),
                    .int(gradient == nil ? 0 : 1), .slice(values), .slice(gradient ?? values), .slice(partial)],
                   global: [groups * costLocal], local: [costLocal])
        try reduceSum(partial, accumulate: true, into: cost)
    }

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

    func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        let indices = try scratchSlice(.permutation, count: permutation.count)
        try permutation.map(Float.init).withUnsafeBufferPointer { try write($0, to: indices) }
        let copy = try scratchSlice(.staging, count: x.count)
        try launch("elementwise", "copy", [.int(x.count), .slice(x), .slice(copy)],
                   global: [x.count], local: pointwiseLocal)
        try launch("permute", alongRows ? "gather_rows" : "gather_columns",
                   [.int(rows), .int(columns), .slice(copy), .slice(indices), .slice(x)],
                   global: [columns, rows], local: [min(16, columns), 1])
    }
}
