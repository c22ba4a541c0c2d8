/// The integer threshold and scale of a dropout rate (the kernels' arguments).
enum DropoutMask {
    static func threshold(_ rate: Float) -> UInt32 { UInt32(Double(rate) * 16_777_216) }
    static func scale(_ rate: Float) -> Float { 1 / (1 - rate) }
}

/// Counter-based inverted dropout (Kernels/dropout.cl).
extension Device {
    /// Inverted dropout: y = x / (1 - rate) where a mask keeps the element, else 0. The mask
    /// of element i is a function of (`key`, i) alone (counter-based, the same on every
    /// device), so calling this again with the same key on the output gradient is the
    /// backward pass. `x` and `y` may be the same slice.
    public func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws {
        try own(x, "dropout input"); try own(y, "dropout output")
        try same(x.count, y.count, "dropout input has \(x.count) elements, output \(y.count)")
        guard rate >= 0, rate < 1 else {
            throw ComputeError.invalidArgument("the dropout rate must lie in [0, 1), got \(rate)")
        }
        try backend.dropout(x, into: y, rate: rate, key: key)
    }
}
