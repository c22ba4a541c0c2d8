import CBIMTKernels

// The CPU twin of Kernels/connection_cost.cl: the hot loops are C (Sources/CBIMTKernels/
// connection_cost.c, AVX-512/AVX2 chosen at run time), split over the cores here.
extension CPUBackend {
    func connectionCost(
        _ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
        outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice
    ) throws {
        let w = pointer(weights), g = gradient.map(pointer), co = pointer(outCoordinates), ci = pointer(inCoordinates)
        let total = parallelSum(pass.rows, grain: max(1, (1 << 15) / pass.columns)) { range in
            bimt_connection_cost_rows(
                Int32(pass.rows), Int32(pass.columns), Int32(range.lowerBound),
                Int32(range.upperBound), pass.weightFactor, pass.l0, pass.gradientScale,
                pass.metric.code, w, g, co, ci)
        }
        pointer(cost)[0] += Float(total * Double(pass.costScale))
    }

    func l1Cost(
        values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float, gradientScale: Float,
        cost: BufferSlice
    ) throws {
        let x = pointer(values)
        let total = parallelSum(values.count) { range in bimt_abs_sum(range.count, x + range.lowerBound) }
        if let gradient {
            let g = pointer(gradient), step = gradientScale * l0
            parallelChunks(values.count) { range in
                for i in range { g[i] += x[i] > 0 ? step : (x[i] < 0 ? -step : 0) }
            }
        }
        pointer(cost)[0] += Float(total * Double(l0) * Double(costScale))
    }
}
