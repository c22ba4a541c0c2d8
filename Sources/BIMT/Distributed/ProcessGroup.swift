/// The processes of a data-parallel run (one per device): what the trainer needs of them.
/// `MPIProcessGroup` is the one bimt ships (Open MPI, started by `mpirun` or `srun`).
/// Every rank must make the same calls in the same order; each call names what it is for,
/// so a failure or a timeout can say where the run was.
public protocol ProcessGroup: AnyObject {
    /// This process's rank, 0 ..< size. Rank 0 writes the run's files.
    var rank: Int { get }
    /// Processes in the run.
    var size: Int { get }
    /// This process's rank among those on its node (which of the node's devices it takes).
    var localRank: Int { get }
    /// Processes on this node (the CPU path divides the node's cores between them).
    var localSize: Int { get }
    /// The node's name, for messages.
    var hostName: String { get }

    /// Element-wise sums over the ranks (every rank gets them).
    func sum(_ values: [Double], _ what: String) throws -> [Double]
    /// Every rank's `bytes` (the same count on every rank), in rank order.
    func allGather(_ bytes: [UInt8], _ what: String) throws -> [[UInt8]]
    /// Rank `root`'s `bytes` on every rank (every rank passes the same count).
    func broadcast(_ bytes: [UInt8], root: Int, _ what: String) throws -> [UInt8]
    /// Starts summing `values` over the ranks in place; the memory must stay untouched until
    /// `wait` returns. Communication runs beside the caller (gradient buckets overlap the
    /// rest of the backward pass).
    func startSum(_ values: UnsafeMutableBufferPointer<Float>, _ what: String) throws -> PendingSum
    /// Returns when the sum has completed.
    func wait(_ pending: PendingSum) throws
    /// Hears the step the trainer is at (for the group's messages).
    func noteStep(_ step: Int)
}

/// A sum `ProcessGroup.startSum` started.
public struct PendingSum: Sendable {
    /// The group's own ticket.
    public let id: Int
    /// Floats summed.
    public let count: Int

    /// A ticket of a process group's own numbering.
    public init(id: Int, count: Int) {
        self.id = id
        self.count = count
    }
}

extension ProcessGroup {
    /// This rank's share of `count` items split in contiguous, near-equal ranges over the ranks.
    public func share(of count: Int) -> Range<Int> {
        (rank * count / size)..<((rank + 1) * count / size)
    }

    /// Every rank says whether its part of a step went well; when any failed, every rank
    /// throws the same error listing each failed rank's reason. (Used before anything is
    /// written, so a bad setting on one rank stops all of them cleanly.)
    public func agree(_ failure: String?, _ what: String) throws {
        let width = 1024
        var bytes = [UInt8](repeating: 0, count: width)
        if let failure {
            let text = Array((failure.isEmpty ? "failed" : failure).utf8.prefix(width - 1))
            bytes.replaceSubrange(0..<text.count, with: text)
        }
        let all = try allGather(bytes, what)
        let failures = all.enumerated().compactMap { rank, bytes -> String? in
            let text = bytes.prefix { $0 != 0 }
            return text.isEmpty ? nil : "rank \(rank): " + String(decoding: text, as: UTF8.self)
        }
        if !failures.isEmpty { throw BIMTError.distributed(failures.joined(separator: "\n")) }
    }

    /// Runs `body`; its error (or none) is agreed on: every rank throws when any rank's body threw.
    public func agreeing<T>(_ what: String, _ body: () throws -> T) throws -> T {
        var result: T?
        var failure: String?
        do { result = try body() } catch { failure = "\(error)" }
        try agree(failure, what)
        return result!
    }

    /// Throws when the ranks' `fingerprint`s differ, naming the ranks that differ from rank 0.
    public func requireSame(_ fingerprint: UInt64, _ what: String) throws {
        let all = try allGather(withUnsafeBytes(of: fingerprint.littleEndian) { Array($0) }, what)
        let values = all.map { bytes in
            bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        }
        let differing = values.indices.filter { values[$0] != values[0] }
        if !differing.isEmpty {
            throw BIMTError.distributed(
                "the ranks disagree on \(what): rank(s) \(differing.map(String.init).joined(separator: ", ")) "
                    + "differ from rank 0"
            )
        }
    }
}
