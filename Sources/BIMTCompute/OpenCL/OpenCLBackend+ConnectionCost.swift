/// OpenCL launches of Kernels/connection_cost.cl.
extension OpenCLBackend {
    func connectionCost(
        _ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
        outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice
    ) throws {
        let partial = try scratchSlice(.partialSums, count: pass.rows), costLocal = constants.costLocal.value
        try enqueue.connectionCostRows(
            R: pass.rows, Q: pass.columns, wf: pass.weightFactor, l0: pass.l0,
            costScale: pass.costScale, gradScale: pass.gradientScale, metric: Int(pass.metric.code),
            withGradient: gradient == nil ? 0 : 1, W: weights, G: gradient ?? weights,
            co: outCoordinates, ci: inCoordinates, partial: partial,
            global: [costLocal, pass.rows], local: [costLocal, 1])
        try reduceSum(partial, accumulate: true, into: cost)
    }

    func l1Cost(
        values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float, gradientScale: Float,
        cost: BufferSlice
    ) throws {
        let costLocal = constants.costLocal.value, groups = (values.count + costLocal - 1) / costLocal
        let partial = try scratchSlice(.partialSums, count: groups)
        try enqueue.l1Cost(
            n: values.count, l0: l0, costScale: costScale, gradScale: gradientScale,
            withGradient: gradient == nil ? 0 : 1, x: values, G: gradient ?? values, partial: partial,
            global: [groups * costLocal], local: [costLocal])
        try reduceSum(partial, accumulate: true, into: cost)
    }
}
