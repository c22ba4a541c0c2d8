import BIMTCompute
import Foundation

/// A run's network over time, for `bimt view`: at every log step and after every relocation
/// the trainer writes one frame to `snapshots/` in the run directory, enough to draw the
/// network then: each connection's weights quantized to 8 bits against the largest |w| of
/// its matrix, and the input and output permutations (for the labels). One file per frame,
/// written atomically. When the frames pass the budget, every other one (the first and the
/// newest kept) is removed, so a long run keeps frames spread over its whole length.
public struct Snapshots {
    /// One frame.
    public struct Frame: Sendable {
        /// The step after which it was taken.
        public var step: Int
        /// Taken right after a relocation.
        public var relocated: Bool
        /// Per connection of the network, in order: the largest |w| and the weights / it x 127.
        public var matrices: [(scale: Float, values: [Int8])]
        /// `in_perm` and `out_perm` at that step (the input and output labels' order).
        public var inputPermutation: [Int], outputPermutation: [Int]

        /// Writes the frame's weights into `values` (a model's flat parameters) at `network`'s connections.
        public func apply(to values: inout [Float], network: SpatialNetwork) throws {
            guard matrices.count == network.connections.count else {
                throw BIMTError.invalidSetting(
                    "a snapshot of step \(step) has \(matrices.count) matrices; "
                        + "the model has \(network.connections.count)"
                )
            }
            for (connection, matrix) in zip(network.connections, matrices) {
                guard matrix.values.count == connection.weight.count else {
                    throw BIMTError.invalidSetting(
                        "a snapshot of step \(step) does not match the model's \(connection.name)")
                }
                for (i, q) in matrix.values.enumerated() {
                    values[connection.weight.offset + i] = Float(q) / 127 * matrix.scale
                }
            }
        }
    }

    /// The default budget, in MiB.
    public static let defaultBudgetMiB = 50.0
    static let magic = Array("BIMTSNP1".utf8)

    /// RUN/snapshots.
    public let directory: URL
    /// Bytes the frames may take before they are thinned.
    public let budgetBytes: Int

    /// The snapshots of the run in `runDirectory`, thinned past `budgetMiB` (0 ... 2^20 MiB).
    public init(runDirectory: URL, budgetMiB: Double = defaultBudgetMiB) throws {
        guard budgetMiB >= 0, budgetMiB <= SizeLimits.snapshotMiB else {
            throw BIMTError.invalidField(
                field: "snapshotBudget",
                reason: "must lie in "
                    + "0...\(Int(SizeLimits.snapshotMiB)) MiB, got \(budgetMiB)")
        }
        directory = runDirectory.appending(path: "snapshots")
        budgetBytes = Int(budgetMiB * 1_048_576)
    }

    /// Writes the frame of `model` at `step`, then thins the frames to the budget.
    public func write(step: Int, relocated: Bool, model: any TrainableModel) throws {
        let network = model.network, values = try model.device.read(model.parameters.whole)
        var data = Data(Self.magic)
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        append(Int64(step))
        append(UInt8(relocated ? 1 : 0))
        append(UInt32(network.connections.count))
        for connection in network.connections {
            let weights = values[connection.weight.offset..<(connection.weight.offset + connection.weight.count)]
            // Non-finite weights (a diverging run) are drawn as 0 rather than stopping the run here.
            let scale = weights.reduce(Float(0)) { $1.isFinite ? max($0, abs($1)) : $0 }
            append(UInt32(weights.count))
            append(scale.bitPattern)
            data.append(
                contentsOf: weights.map { w in
                    UInt8(bitPattern: Int8(scale > 0 && w.isFinite ? (w / scale * 127).rounded() : 0))
                })
        }
        for permutation in [network.inputPermutation, network.outputPermutation] {
            append(UInt32(permutation.count))
            for p in permutation { append(UInt32(p)) }
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try data.write(to: directory.appending(path: String(format: "frame-%010d.bin", step)), options: .atomic)
        try thin()
    }

    /// Removes every other frame (keeping the first and the newest) while the frames take
    /// more than the budget.
    func thin() throws {
        var files = Self.frameFiles(directory)
        func total() -> Int {
            files.reduce(0) { $0 + ((try? $1.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) }
        }
        while files.count > 2 && total() > budgetBytes {
            let removed = stride(from: 1, to: files.count - 1, by: 2).map { files[$0] }
            for file in removed { try FileManager.default.removeItem(at: file) }
            files = Self.frameFiles(directory)
        }
    }

    static func frameFiles(_ directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("frame-") && $0.hasSuffix(".bin") }.sorted().map {
            directory.appending(path: $0)
        }
    }

    /// The frames of a run directory in step order, and a line for each file that could not
    /// be read (truncated, corrupt or not a frame), which is skipped. With the run's `network`
    /// every count and index in a frame is checked against it (its connections' sizes, its
    /// input and output layers' permutations), so a damaged frame is skipped, never drawn.
    public static func read(runDirectory: URL, network: SpatialNetwork? = nil)
        -> (frames: [Frame], problems: [String])
    {
        var frames: [Frame] = [], problems: [String] = []
        for file in frameFiles(runDirectory.appending(path: "snapshots")) {
            do { frames.append(try frame(Data(contentsOf: file), network: network)) } catch {
                problems.append("\(file.lastPathComponent): \(error); skipped")
            }
        }
        return (frames.sorted { $0.step < $1.step }, problems)
    }

    /// Parses one frame. No count is used to allocate before it is checked against the bytes
    /// left in the frame (and against `network` when given).
    public static func frame(_ data: Data, network: SpatialNetwork? = nil) throws -> Frame {
        var offset = 0
        func corrupt(_ text: String) -> BIMTError { .invalidSetting("corrupt: \(text)") }
        func bytes(_ count: Int) throws -> Data {
            guard count >= 0, count <= data.count - offset else {
                throw BIMTError.invalidSetting("truncated after \(data.count) bytes")
            }
            defer { offset += count }
            return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + count))
        }
        func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            try bytes(MemoryLayout<T>.size).withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
        }
        /// A count of items of `size` bytes each, at most what is left and, with a network, `expected`.
        func count(of what: String, size: Int, expected: Int?) throws -> Int {
            let n = Int(try integer(UInt32.self))
            if let expected, n != expected { throw corrupt("\(n) \(what), the run's model has \(expected)") }
            guard n * size <= data.count - offset else {
                throw BIMTError.invalidSetting("truncated after \(data.count) bytes")
            }
            return n
        }
        guard data.count >= 8, Array(try bytes(8)) == magic else {
            throw BIMTError.invalidSetting("not a bimt snapshot frame")
        }
        let step = Int(try integer(Int64.self)), relocated = try integer(UInt8.self)
        guard step >= 0, relocated <= 1 else { throw corrupt("step \(step), relocation flag \(relocated)") }
        var matrices: [(scale: Float, values: [Int8])] = []
        let connections = network?.connections
        for m in 0..<(try count(of: "matrices", size: 8, expected: connections?.count)) {
            let n = try count(of: "weights in matrix \(m)", size: 1, expected: connections?[m].weight.count)
            let scale = Float(bitPattern: try integer(UInt32.self))
            guard scale.isFinite, scale >= 0 else { throw corrupt("matrix \(m)'s scale is \(scale)") }
            matrices.append((scale, try bytes(n).map { Int8(bitPattern: $0) }))
        }
        var permutations: [[Int]] = []
        for (what, layer) in [("inputs", network?.layers.first), ("outputs", network?.layers.last)] {
            let n = try count(of: what, size: 4, expected: layer?.layout.neuronCount)
            let permutation = try (0..<n).map { _ in Int(try integer(UInt32.self)) }
            guard isPermutation(permutation) else {
                throw corrupt("the \(what)' order is not a permutation of 0..<\(n)")
            }
            permutations.append(permutation)
        }
        return Frame(
            step: step, relocated: relocated == 1, matrices: matrices, inputPermutation: permutations[0],
            outputPermutation: permutations[1])
    }
}
