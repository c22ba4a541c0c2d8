import CBIMTKernels

// CPU twins of Kernels/connection_cost.cl, swap_score.cl and permute.cl: the hot loops are
// C (Sources/CBIMTKernels, AVX-512/AVX2 chosen at run time), split over the cores here.
extension CPUBackend {
    func connectionCost(_ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
                        outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice) throws {
        let w = pointer(weights), g = gradient.map(pointer), co = pointer(outCoordinates), ci = pointer(inCoordinates)
        let total = parallelSum(pass.rows, grain: max(1, (1 << 15) / pass.columns)) { range in
            bimt_connection_cost_rows(Int32(pass.rows), Int32(pass.columns), Int32(range.lowerBound),
                                      Int32(range.upperBound), pass.weightFactor, pass.l0, pass.gradientScale,
                                      pass.metric.code, w, g, co, ci)
        }
        pointer(cost)[0] += Float(total * Double(pass.costScale))
    }

    func l1Cost(values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float, gradientScale: Float,
                cost: BufferSlice) throws {
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

    func swapScores(_ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
                    otherCoordinates: BufferSlice, scores: BufferSlice) throws {
        let w = pointer(weights), s = pointer(slotCoordinates), o = pointer(otherCoordinates), c = pointer(scores)
        let work = pass.units * pass.otherCount * pass.folds
        parallelChunks(pass.units, grain: max(8, (1 << 16) / max(1, work))) { range in
            bimt_swap_scores(Int32(pass.units), Int32(pass.otherCount), Int32(pass.folds), Int32(pass.rowStride),
                             Int32(pass.otherStride), pass.scale, pass.metric.code, pass.accumulate ? 1 : 0,
                             Int32(range.lowerBound), Int32(range.upperBound), w, s, o, c)
        }
    }

    func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws {
        bimt_unit_abs_sums(Int32(pass.units), Int32(pass.otherCount), Int32(pass.folds), Int32(pass.rowStride),
                           Int32(pass.otherStride), pass.scale, pass.accumulate ? 1 : 0, pointer(weights), pointer(sums))
    }

    func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws {
        let c = pointer(scores), d = pointer(deltas)
        for j in 0..<units {
            for k in 0..<units {
                d[j * units + k] = c[j * units + k] + c[k * units + j] - c[j * units + j] - c[k * units + k]
            }
        }
    }

    func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws {
        let p = pointer(x), count = rows * columns
        let copy = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { copy.deallocate() }
        copy.update(from: p, count: count)
        if alongRows {
            for (r, from) in permutation.enumerated() {
                (p + r * columns).update(from: copy + from * columns, count: columns)
            }
        } else {
            for r in 0..<rows {
                let target = p + r * columns, source = copy + r * columns
                for (c, from) in permutation.enumerated() { target[c] = source[from] }
            }
        }
    }
}

/// Sums `body` over contiguous chunks of `0 ..< count`, in parallel like `parallelChunks`;
/// the chunk results are added in chunk order, so the total does not depend on timing.
func parallelSum(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Double) -> Double {
    parallelResults(count, grain: grain, body).reduce(0, +)
}

/// `body` over contiguous chunks of `0 ..< count` (in parallel when large enough), its
/// results in chunk order.
func parallelResults<T>(_ count: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> T) -> [T] {
    let chunks = max(1, min(processorCount, count / max(1, grain)))
    guard chunks > 1 else { return [body(0..<count)] }
    let size = (count + chunks - 1) / chunks
    var results = [T?](repeating: nil, count: chunks)
    results.withUnsafeMutableBufferPointer { slots in
        let shared = UncheckedSendable(slots)
        parallelChunks(chunks, grain: 1) { range in
            for chunk in range {
                let start = chunk * size
                shared.value[chunk] = body(start..<min(count, start + size))
            }
        }
    }
    return results.map { $0! }
}

/// Per-chunk partial sums over `parallelResults`' chunks of `0 ..< count`: `body` adds its
/// chunk's `width` sums into zeroed floats, and the chunks' sums are added into `out` in
/// chunk order (overwriting it, or adding with `accumulate`), so the result depends only on
/// the core count.
func bandedSums(_ count: Int, width: Int, grain: Int, into out: UnsafeMutablePointer<Float>, accumulate: Bool,
                _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
    let partials = parallelResults(count, grain: grain) { range -> [Float] in
        var partial = [Float](repeating: 0, count: width)
        partial.withUnsafeMutableBufferPointer { body(range, $0.baseAddress!) }
        return partial
    }
    for c in 0..<width {
        var total: Float = accumulate ? out[c] : 0
        for partial in partials { total += partial[c] }
        out[c] = total
    }
}

import Foundation
