import CBIMTKernels
import Foundation

// CPU twins of Kernels/loss.cl, embedding.cl and the batch gather of permute.cl.
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

    func crossEntropy(logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int, logitGradient: BufferSlice,
                      loss: BufferSlice, correct: BufferSlice) throws {
        let z = pointer(logits), l = pointer(labels), dz = pointer(logitGradient)
        let scale = 1 / Float(rows)
        let chunks = parallelResults(rows, grain: max(1, (1 << 14) / columns)) { range -> (loss: Double, hits: Int32) in
            var hits: Int32 = 0
            let sum = bimt_cross_entropy_rows(Int32(columns), Int32(range.lowerBound), Int32(range.upperBound), scale,
                                              z, l, dz, &hits)
            return (sum, hits)
        }
        pointer(loss)[0] += Float(chunks.reduce(0) { $0 + $1.loss } / Double(rows))
        pointer(correct)[0] += Float(chunks.reduce(0) { $0 + Int($1.hits) })
    }

    func embeddingForward(tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
                          output: BufferSlice) throws {
        let tok = pointer(tokens), e = pointer(table), out = pointer(output)
        for r in 0..<rows {
            for t in 0..<folds {
                (out + (r * folds + t) * dimension).update(from: e + Int(tok[r * folds + t]) * dimension, count: dimension)
            }
        }
    }

    func embeddingBackward(tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int, dimension: Int,
                           vocabulary: Int, tableGradient: BufferSlice) throws {
        let tok = pointer(tokens), dout = pointer(outputGradient), de = pointer(tableGradient)
        for r in 0..<rows {
            for t in 0..<folds {
                let target = de + Int(tok[r * folds + t]) * dimension, source = dout + (r * folds + t) * dimension
                for c in 0..<dimension { target[c] += source[c] }
            }
        }
    }

    func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws {
        let src = pointer(source), dst = pointer(destination)
        for (i, row) in indices.enumerated() { (dst + i * columns).update(from: src + row * columns, count: columns) }
    }

    func gatherRows(source: BufferSlice, columns: Int, deviceIndices: BufferSlice, into destination: BufferSlice) throws {
        let src = pointer(source), dst = pointer(destination), rows = pointer(deviceIndices)
        for i in 0..<deviceIndices.count { (dst + i * columns).update(from: src + Int(rows[i]) * columns, count: columns) }
    }
}
