/// Pointwise fill, copy, scale and axpy (Kernels/elementwise.cl).
extension Device {
    /// x = value
    public func fill(_ x: BufferSlice, value: Float) throws {
        try own(x, "fill")
        try backend.fill(x, value: value)
    }

    /// y = x
    public func copy(_ x: BufferSlice, to y: BufferSlice) throws {
        try own(x, "copy source"); try own(y, "copy destination")
        try same(x.count, y.count, "copy of \(x.count) elements into \(y.count)")
        try backend.copy(x, to: y)
    }

    /// x = alpha * x
    public func scale(_ x: BufferSlice, by alpha: Float) throws {
        try own(x, "scale")
        try backend.scale(x, by: alpha)
    }

    /// y = alpha * x + y
    public func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws {
        try own(x, "axpy x"); try own(y, "axpy y")
        try same(x.count, y.count, "axpy x has \(x.count) elements, y has \(y.count)")
        try backend.axpy(alpha: alpha, x: x, y: y)
    }
}
