import BIMTCompute
import Foundation

/// A long sequence of token ids: in memory (a character text), or a nanoGPT token file
/// (`train.bin` / `val.bin`: little-endian uint16 ids) mapped from disk and never loaded
/// whole. A language model reads it as windows (`Dataset(windowsOf:context:vocabulary:name:)`).
public struct TokenSequence: Sendable {
    enum Storage: Sendable {
        case values([UInt32])
        case mapped(Data) // uint16 little-endian, memory-mapped
    }

    let storage: Storage
    /// Where the tokens came from (a file path, or a description), for messages and equality.
    public let source: String
    /// Tokens in the sequence.
    public let count: Int

    /// Tokens held in memory.
    public init(_ tokens: [Int], source: String) {
        storage = .values(tokens.map { UInt32(truncatingIfNeeded: $0) })
        self.source = source
        count = tokens.count
    }

    /// A nanoGPT token file, mapped: its byte length must be even; every id is checked to lie
    /// in 0 ..< `vocabulary` (one pass through the mapping).
    public init(uint16File path: String, vocabulary: Int) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw BIMTError.invalidFile(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        guard data.count % 2 == 0 else {
            throw BIMTError.invalidFile(
                path: path,
                reason:
                    "has \(data.count) bytes, an odd length: a token file holds little-endian uint16 ids (2 bytes each)"
            )
        }
        let largest = data.withUnsafeBytes { raw -> Int in
            var largest: UInt16 = 0
            for i in 0..<(raw.count / 2) {
                largest = max(largest, UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
            return Int(largest)
        }
        guard data.isEmpty || largest < vocabulary else {
            throw BIMTError.invalidFile(
                path: path, reason: "holds token id \(largest), at or above the vocabulary size \(vocabulary)")
        }
        storage = .mapped(data)
        source = path
        count = data.count / 2
    }

    /// The id at position `i`.
    public func token(at i: Int) -> Int {
        switch storage {
        case let .values(values): Int(values[i])
        case let .mapped(data):
            data.withUnsafeBytes { Int(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        }
    }

    /// `count` ids from `start`, as floats (the model's input encoding).
    func floats(from start: Int, count: Int) -> [Float] {
        switch storage {
        case let .values(values): values[start..<(start + count)].map { Float($0) }
        case let .mapped(data):
            data.withUnsafeBytes { raw in
                (start..<(start + count)).map {
                    Float(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
                }
            }
        }
    }
}

extension TokenSequence: Equatable {
    public static func == (a: TokenSequence, b: TokenSequence) -> Bool {
        switch (a.storage, b.storage) {
        case let (.values(x), .values(y)): x == y
        case (.mapped, .mapped): a.source == b.source && a.count == b.count
        default: false
        }
    }
}

/// Seeded random indices drawn with replacement: a token stream's window offsets, as nanoGPT
/// draws its batches (`torch.randint`), or examples of a stored split under
/// `BatchSampling.replacement`. Draw k is a function of (seed, k) alone, so the state is a
/// counter and a resumed run draws the same batches.
public struct WindowSampler: Sendable, Equatable, Codable {
    /// Window offsets to draw from (0 ..< count).
    public let count: Int
    /// Seeds every draw.
    public let seed: UInt64
    /// Offsets drawn so far.
    public private(set) var draws: Int

    /// A sampler that has drawn nothing.
    public init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
        draws = 0
    }

    /// The next `n` offsets.
    public mutating func next(_ n: Int) -> [Int] {
        defer { draws += n }
        return (draws..<(draws + n)).map { Self.offset(seed: seed, draw: $0, count: count) }
    }

    static func offset(seed: UInt64, draw: Int, count: Int) -> Int {
        var generator = SeededGenerator(seed: seed &+ UInt64(draw) &* 0xD1B5_4A32_D192_ED03)
        return Int(generator.next() % UInt64(count))
    }
}
