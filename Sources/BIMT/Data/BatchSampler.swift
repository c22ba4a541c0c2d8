import BIMTCompute

/// Seeded epoch shuffling: epoch e visits every example once in an order drawn from
/// (seed, e); a batch takes the next `batchSize` positions, wrapping into the next epoch.
/// Its whole state is (epoch, position), so a resumed run draws the same batches.
public struct BatchSampler: Sendable, Equatable, Codable {
    /// Examples to draw from.
    public let count: Int
    /// Examples per batch.
    public let batchSize: Int
    /// Seeds every epoch's shuffle.
    public let seed: UInt64
    /// The current epoch (0 first).
    public private(set) var epoch = 0
    /// The next index into this epoch's order.
    public private(set) var position = 0
    /// This epoch's order (drawn when the first batch needs it, so that reading a sampler's
    /// state allocates nothing before it is checked against the data).
    private var order: [Int] = []

    enum CodingKeys: String, CodingKey { case count, batchSize, seed, epoch, position }

    /// A sampler at the start of its first epoch.
    public init(count: Int, batchSize: Int, seed: UInt64) {
        self.count = count
        self.batchSize = batchSize
        self.seed = seed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        seed = try c.decode(UInt64.self, forKey: .seed)
        epoch = try c.decode(Int.self, forKey: .epoch)
        position = try c.decode(Int.self, forKey: .position)
    }

    /// Samplers in the same state draw the same batches.
    public static func == (a: BatchSampler, b: BatchSampler) -> Bool {
        (a.count, a.batchSize, a.seed, a.epoch, a.position) == (b.count, b.batchSize, b.seed, b.epoch, b.position)
    }

    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15)
        return Array(0..<count).shuffled(using: &generator)
    }

    /// The next batch's example indices.
    public mutating func next() -> [Int] {
        var batch: [Int] = []
        batch.reserveCapacity(batchSize)
        if order.count != count { order = Self.order(count: count, seed: seed, epoch: epoch) }
        while batch.count < batchSize {
            if position == count {
                epoch += 1
                position = 0
                order = Self.order(count: count, seed: seed, epoch: epoch)
            }
            let take = min(batchSize - batch.count, count - position)
            batch += order[position..<(position + take)]
            position += take
        }
        return batch
    }
}
