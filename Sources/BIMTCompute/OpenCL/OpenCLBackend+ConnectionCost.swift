/// OpenCL launches of Kernels/connection_cost.cl.
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
}
