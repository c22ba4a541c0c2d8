import Foundation

/// What a checkpoint records of the data it was trained on: each split's example count and a
/// 64-bit hash of the task's shapes and, for data read from files, of every value (inputs,
/// targets, token streams). Resuming compares it with the data as they are now, so a table,
/// image folder or token file that shrank, grew or changed is refused instead of read out of
/// bounds or silently trained on. Data a built-in task generates from the seed are hashed by
/// shape only: they are the configuration's, and a platform whose libm rounds sin a little
/// differently must still resume them.
public struct DataFingerprint: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Training examples (a token stream: window offsets).
    public var train: Int
    /// Test examples.
    public var test: Int
    /// The hash, as 16 hexadecimal digits.
    public var hash: String

    /// The fingerprint of `data`: one pass over every value (only the shapes without `values`).
    public init(_ data: TaskData, values: Bool = true) {
        var hasher = DataHasher()
        hasher.add(data.vocabulary ?? -1)
        for split in [data.train, data.test] { hasher.add(split, values: values) }
        train = data.train.count
        test = data.test.count
        hash = String(hasher.value, radix: 16).leftPadded(to: 16)
    }

    public var description: String { "\(train) training and \(test) test examples, data hash \(hash)" }
}

/// A 64-bit running hash over words (a multiply-xorshift mix per word): fast enough to read a
/// token file of hundreds of MB once, and any change to a value changes the result.
struct DataHasher {
    private(set) var value: UInt64 = 0x6A09_E667_F3BC_C908

    mutating func add(_ word: UInt64) {
        value = (value ^ word) &* 0x9E37_79B9_7F4A_7C15
        value ^= value >> 29
    }

    mutating func add(_ integer: Int) { add(UInt64(bitPattern: Int64(integer))) }

    mutating func add(_ values: [Float]) {
        add(values.count)
        values.withUnsafeBytes { add(bytes: $0) }
    }

    mutating func add(bytes raw: UnsafeRawBufferPointer) {
        let words = raw.count / 8
        for i in 0..<words { add(raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        var tail: UInt64 = 0
        for i in (8 * words)..<raw.count { tail = tail << 8 | UInt64(raw[i]) }
        add(tail)
        add(raw.count)
    }

    mutating func add(_ split: Dataset, values: Bool) {
        add(split.inputWidth)
        add(split.targetsPerExample)
        add(split.count)
        add(split.outputWidth)
        guard values else { return }
        add(split.inputs)
        switch split.targets {
        case let .regression(values, width):
            add(width)
            add(values)
        case let .classification(labels, classes):
            add(classes)
            add(labels.count)
            labels.withUnsafeBytes { add(bytes: $0) }
        }
        if let windows = split.windows {
            switch windows.storage {
            case let .values(tokens): tokens.withUnsafeBytes { add(bytes: $0) }
            case let .mapped(data): data.withUnsafeBytes { add(bytes: $0) }
            }
        }
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
