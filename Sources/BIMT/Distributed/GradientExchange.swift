import BIMTCompute
import Foundation

/// Sums the flat gradient buffer over the ranks in buckets, started while the backward pass
/// still runs: the model reports how far its gradients are final (`ready(from:)`, a flat
/// offset; backward passes go from the last parameters to the first), and every bucket above
/// that point starts at once. On the CPU path the sums run in place on the gradient memory;
/// on an OpenCL device a bucket is read into host memory first (without waiting: the host goes
/// on queueing the backward pass, and a bucket's sum starts once its read has arrived) and
/// written back at the end. Sums start in bucket order on every rank, as MPI requires of
/// collectives; only when they start depends on the device.
final class GradientExchange {
    let group: any ProcessGroup
    let device: Device
    let gradients: Buffer
    /// Buckets from the end of the buffer to its start (the order backward makes them ready).
    let buckets: [Range<Int>]
    /// Host copies of the buckets (nil on the CPU path, which sums in place).
    private let staging: UnsafeMutableBufferPointer<Float>?
    private var pending: [PendingSum] = []
    /// Buckets read from the device whose sums have not started, in bucket order.
    private var reading: [(read: PendingRead, memory: UnsafeMutableBufferPointer<Float>, bucket: Int)] = []
    private var started = 0
    private var active = false
    /// Seconds the training thread waited for sums after its backward pass (communication the
    /// backward pass did not hide).
    private(set) var waitSeconds = 0.0
    /// Steps exchanged.
    private(set) var steps = 0

    /// Floats per bucket unless set: an eighth of the gradient, so that a small model's
    /// buckets also start during the backward pass, between 64 Ki floats (256 KiB: below it
    /// each sum's latency dominates) and 4 Mi floats (16 MiB, PyTorch DDP's order of size).
    static func defaultBucketElements(count: Int) -> Int { min(1 << 22, max(1 << 16, count / 8)) }

    init(group: any ProcessGroup, device: Device, gradients: Buffer, bucketElements: Int? = nil) throws {
        self.group = group
        self.device = device
        self.gradients = gradients
        let size = max(1, bucketElements ?? Self.defaultBucketElements(count: gradients.count))
        var buckets: [Range<Int>] = []
        var end = gradients.count
        while end > 0 {
            buckets.append(max(0, end - size)..<end)
            end -= size
        }
        self.buckets = buckets
        staging =
            try device.hostMemory(gradients.whole) == nil
            ? UnsafeMutableBufferPointer<Float>.allocate(capacity: gradients.count) : nil
    }

    deinit {
        drainReads()
        staging?.deallocate()
    }

    /// The backward pass that makes this step's final gradients begins.
    func begin() {
        // A step that failed part-way (its error already reported) leaves reads behind: they land
        // in the staging memory, so they are waited for before it is used again.
        drainReads()
        precondition(pending.isEmpty, "a gradient exchange began before the last one finished")
        started = 0
        active = true
    }

    /// Gradients at flat offsets `offset` and above are final: start their buckets.
    func ready(from offset: Int) throws {
        guard active else { return }
        while started < buckets.count && buckets[started].lowerBound >= offset {
            let range = buckets[started]
            let slice = gradients.slice(offset: range.lowerBound, count: range.count)
            if let staging {
                let memory = UnsafeMutableBufferPointer(rebasing: staging[range])
                reading.append((try device.startRead(slice, into: memory), memory, started))
            } else {
                try startSum(try device.hostMemory(slice)!, bucket: started)
            }
            started += 1
        }
        try startArrivedSums(waiting: false)
    }

    /// Starts the sums of the buckets whose reads have arrived, in bucket order (stopping at
    /// the first still on its way), or of all of them, waiting for each, with `waiting`.
    private func startArrivedSums(waiting: Bool) throws {
        while let first = reading.first {
            if waiting { try first.read.wait() } else if try !first.read.isComplete { return }
            reading.removeFirst()
            try startSum(first.memory, bucket: first.bucket)
        }
    }

    /// Waits for any read still on its way into the staging memory, and forgets it.
    private func drainReads() {
        for read in reading { try? read.read.wait() }
        reading.removeAll()
    }

    private func startSum(_ memory: UnsafeMutableBufferPointer<Float>, bucket: Int) throws {
        pending.append(try group.startSum(memory, "the gradient sum (bucket \(bucket + 1) of \(buckets.count))"))
    }

    /// Starts what is left, waits for every bucket, and leaves the mean gradient over the
    /// ranks in the buffer.
    func finish() throws {
        try ready(from: 0)
        active = false
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            pending.removeAll()
            drainReads()
        }
        try startArrivedSums(waiting: true)
        for sum in pending { try group.wait(sum) }
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        steps += 1
        if let staging { try device.write(UnsafeBufferPointer(staging), to: gradients.whole) }
        try device.scale(gradients.whole, by: 1 / Float(group.size))
    }
}
