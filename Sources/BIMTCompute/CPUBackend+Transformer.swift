import Foundation

// CPU twins of Kernels/layernorm.cl and the causal/backward kernels of softmax.cl.
extension CPUBackend {
    func layerNormForward(_ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int, epsilon: Float,
                          output: BufferSlice, mean: BufferSlice, rstd: BufferSlice) throws {
        let px = pointer(x), g = pointer(gamma), b = pointer(beta), y = pointer(output), pm = pointer(mean), ps = pointer(rstd)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            for r in range {
                let xr = px + r * columns
                var sum: Float = 0
                for c in 0..<columns { sum += xr[c] }
                let m = sum / Float(columns)
                var variance: Float = 0
                for c in 0..<columns { variance += (xr[c] - m) * (xr[c] - m) }
                let s = 1 / (variance / Float(columns) + epsilon).squareRoot()
                for c in 0..<columns { y[r * columns + c] = (xr[c] - m) * s * g[c] + b[c] }
                pm[r] = m
                ps[r] = s
            }
        }
    }

    func layerNormBackward(_ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
                           rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
                           gammaGradient: BufferSlice, betaGradient: BufferSlice) throws {
        let px = pointer(x), g = pointer(gamma), dy = pointer(outputGradient), pm = pointer(mean), ps = pointer(rstd)
        let dx = pointer(inputGradient), dg = pointer(gammaGradient), db = pointer(betaGradient)
        let n = Float(columns)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            for r in range {
                let m = pm[r], s = ps[r]
                var sumG: Float = 0, sumGX: Float = 0
                for c in 0..<columns {
                    let gc = dy[r * columns + c] * g[c], xhat = (px[r * columns + c] - m) * s
                    sumG += gc
                    sumGX += gc * xhat
                }
                for c in 0..<columns {
                    let gc = dy[r * columns + c] * g[c], xhat = (px[r * columns + c] - m) * s
                    dx[r * columns + c] += s / n * (n * gc - sumG - xhat * sumGX)
                }
            }
        }
        parallelChunks(columns, grain: max(1, (1 << 13) / rows)) { range in
            for c in range {
                var sumGamma: Float = 0, sumBeta: Float = 0
                for r in 0..<rows {
                    let d = dy[r * columns + c]
                    sumGamma += d * (px[r * columns + c] - pm[r]) * ps[r]
                    sumBeta += d
                }
                dg[c] += sumGamma
                db[c] += sumBeta
            }
        }
    }

    func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        let px = pointer(x), py = pointer(output)
        parallelChunks(rows, grain: max(1, (1 << 13) / length)) { range in
            for r in range {
                let last = r % length, xr = px + r * length, yr = py + r * length
                var largest = xr[0]
                for c in 0...last { largest = max(largest, xr[c]) }
                var sum: Float = 0
                for c in 0...last {
                    let e = exp(xr[c] - largest)
                    yr[c] = e
                    sum += e
                }
                for c in 0...last { yr[c] /= sum }
                for c in (last + 1)..<length { yr[c] = 0 }
            }
        }
    }

    func softmaxBackward(output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
                         inputGradient: BufferSlice) throws {
        let y = pointer(output), dy = pointer(outputGradient), dx = pointer(inputGradient)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            for r in range {
                var dot: Float = 0
                for c in 0..<columns { dot += dy[r * columns + c] * y[r * columns + c] }
                for c in 0..<columns { dx[r * columns + c] = y[r * columns + c] * (dy[r * columns + c] - dot) }
            }
        }
    }
}
