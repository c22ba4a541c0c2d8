// The CPU twin of Kernels/elementwise.cl is Swift, not C: fill and copy are the standard
// library's bulk pointer operations (copy is memmove), and scale and axpy are memory-bound
// one-line loops over raw pointers that the compiler vectorizes as well as C would; the
// large ones are split over the cores.
extension CPUBackend {
    func fill(_ x: BufferSlice, value: Float) throws {
        let px = pointer(x)
        parallelChunks(x.count) { range in
            (px + range.lowerBound).update(repeating: value, count: range.count)
        }
    }

    func copy(_ x: BufferSlice, to y: BufferSlice) throws {
        // `update(from:)` is memmove: overlapping slices of one buffer are fine.
        pointer(y).update(from: pointer(x), count: x.count)
    }

    func scale(_ x: BufferSlice, by alpha: Float) throws {
        let px = pointer(x)
        parallelChunks(x.count) { range in
            for i in range { px[i] *= alpha }
        }
    }

    func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws {
        let px = pointer(x), py = pointer(y)
        parallelChunks(x.count) { range in
            for i in range { py[i] += alpha * px[i] }
        }
    }
}
