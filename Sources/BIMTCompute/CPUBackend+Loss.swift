import CBIMTKernels
import Foundation

// The CPU twin of Kernels/loss.cl: cross-entropy rows are vectorized C
// (Sources/CBIMTKernels/loss.c), the MSE a Swift loop; chunk sums are added in order.
extension CPUBackend {
    func mseLoss(output: BufferSlice, target: BufferSlice, outputGradient: BufferSlice, loss: BufferSlice) throws {
        let y = pointer(output), t = pointer(target), dy = pointer(outputGradient), n = output.count
        let scale = 1 / Float(n)
        let total = parallelSum(n) { range in
            var sum: Double = 0
            for i in range {
                let diff = y[i] - t[i]
                dy[i] = 2 * diff * scale
                sum += Double(diff * diff * scale)
            }
            return sum
        }
        pointer(loss)[0] += Float(total)
    }

    func crossEntropy(
        logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int, logitGradient: BufferSlice,
        loss: BufferSlice, correct: BufferSlice
    ) throws {
        let z = pointer(logits), l = pointer(labels), dz = pointer(logitGradient)
        let scale = 1 / Float(rows)
        let chunks = parallelResults(rows, grain: max(1, (1 << 14) / columns)) { range -> (loss: Double, hits: Int32) in
            var hits: Int32 = 0
            let sum = bimt_cross_entropy_rows(
                Int32(columns), Int32(range.lowerBound), Int32(range.upperBound), scale,
                z, l, dz, &hits)
            return (sum, hits)
        }
        pointer(loss)[0] += Float(chunks.reduce(0) { $0 + $1.loss } / Double(rows))
        pointer(correct)[0] += Float(chunks.reduce(0) { $0 + Int($1.hits) })
    }
}
