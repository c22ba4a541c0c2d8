import CBIMTKernels
import Foundation

// The CPU twin of Kernels/softmax.cl: the causal and backward rows are vectorized C
// (Sources/CBIMTKernels/softmax.c), the plain row softmax a Swift loop; split over the cores.
extension CPUBackend {
    func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws {
        let px = pointer(x), py = pointer(output)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            for r in range {
                let xr = px + r * columns, yr = py + r * columns
                var largest = xr[0]
                for c in 1..<max(1, columns) { largest = max(largest, xr[c]) }
                var sum: Float = 0
                for c in 0..<columns {
                    let e = exp(xr[c] - largest)
                    yr[c] = e
                    sum += e
                }
                let inverse = 1 / sum
                for c in 0..<columns { yr[c] *= inverse }
            }
        }
    }

    func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws {
        let px = pointer(x), py = pointer(output)
        parallelChunks(rows, grain: max(1, (1 << 13) / length)) { range in
            bimt_softmax_causal_rows(Int32(length), Int32(range.lowerBound), Int32(range.upperBound), px, py)
        }
    }

    func softmaxBackward(
        output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
        inputGradient: BufferSlice
    ) throws {
        let y = pointer(output), dy = pointer(outputGradient), dx = pointer(inputGradient)
        parallelChunks(rows, grain: max(1, (1 << 13) / columns)) { range in
            bimt_softmax_backward_rows(Int32(columns), Int32(range.lowerBound), Int32(range.upperBound), y, dy, dx)
        }
    }
}
