/// The largest sizes a configuration may ask for: far beyond any run a device can hold, yet
/// small enough that every size computed from them (parameter counts, workspaces, memory
/// plans) fits in an `Int`. Each configuration field is checked against its bound once, where
/// the configuration is validated; products of fields (a model's parameters, a batch's
/// activations) are checked in floating point before anything is counted in integers.
public enum SizeLimits {
    /// Neurons in one layer: an MLP width, a transformer's width or outputs, a vocabulary.
    public static let neurons = 1 << 24
    /// Layers of an MLP or blocks of a transformer or conv net.
    public static let layers = 1 << 12
    /// A transformer's context (positions per sequence).
    public static let context = 1 << 20
    /// Pixels along one side of an image, and channels of a conv block.
    public static let imageSide = 1 << 15
    /// A transformer's MLP ratio, heads' multiples, kernel and pool sizes.
    public static let factor = 1 << 10
    /// Examples in one batch, evaluation batches, steps between events, swap candidates.
    public static let count = 1 << 30
    /// Training steps.
    public static let steps = 1 << 40
    /// Values (float32 elements) in one part of a run: parameters, activations or data on
    /// the device. 2^40 floats are 4 TiB.
    public static let values = 1 << 40
    /// MiB of network snapshots (1 TiB).
    public static let snapshotMiB = Double(1 << 20)

    /// Throws `invalidField` unless `value` (what the field holds, or `what` of it: "layers")
    /// lies in `range`.
    static func require(_ value: Int, in range: ClosedRange<Int>, _ field: String, what: String? = nil) throws {
        guard range.contains(value) else {
            let subject = what.map { "its \($0) " } ?? ""
            throw BIMTError.invalidField(
                field: field, reason: "\(subject)must lie in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
    }

    /// Throws `invalidField` when `values` (a product of sizes, computed in floating point so
    /// that it cannot overflow) exceeds `SizeLimits.values`; `what` says what is counted and
    /// `lower` which fields lower it.
    static func requireValues(_ values: Double, _ what: String, field: String, lower: String) throws {
        guard values <= Double(Self.values) else {
            throw BIMTError.invalidField(
                field: field,
                reason: "\(what) would need \(String(format: "%.3g", values)) values, more than any "
                    + "device holds (at most \(Self.values)); lower \(lower)")
        }
    }

    /// The largest epoch or draw count a checkpoint's sampler state may record (counters
    /// that a step adds to stay far from overflow).
    static let samplerCounters = 0..<(1 << 62)
}
