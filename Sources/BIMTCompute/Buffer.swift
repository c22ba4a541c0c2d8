import Synchronization

private let liveBuffers = Atomic<Int>(0)
private let liveElements = Atomic<Int>(0)

/// A float32 array owned by one device. Host memory on the CPU device, a `cl_mem` on an
/// OpenCL device; the storage is released when the last reference goes.
public final class Buffer: @unchecked Sendable {
    /// Buffers alive in this process, on every device (a soak test watches it stay flat).
    public static var liveCount: Int { liveBuffers.load(ordering: .relaxed) }
    /// Float32 elements in the buffers alive in this process (what a memory plan is checked against).
    public static var liveElementCount: Int { liveElements.load(ordering: .relaxed) }

    /// Number of float32 elements.
    public let count: Int
    let storage: BufferStorage
    let owner: ObjectIdentifier

    init(count: Int, storage: BufferStorage, owner: ObjectIdentifier) {
        self.count = count
        self.storage = storage
        self.owner = owner
        liveBuffers.add(1, ordering: .relaxed)
        liveElements.add(count, ordering: .relaxed)
    }

    deinit {
        storage.release()
        liveBuffers.subtract(1, ordering: .relaxed)
        liveElements.subtract(count, ordering: .relaxed)
    }

    /// The whole buffer as a slice.
    public var whole: BufferSlice { BufferSlice(buffer: self, offset: 0, count: count) }

    /// `count` elements starting at `offset`. Out-of-range views are programmer errors.
    public func slice(offset: Int, count: Int) -> BufferSlice {
        precondition(
            offset >= 0 && count >= 0 && offset + count <= self.count,
            "slice [\(offset), \(offset + count)) outside a buffer of \(self.count) elements")
        return BufferSlice(buffer: self, offset: offset, count: count)
    }
}

/// A contiguous range of a buffer: the unit every device operation works on.
public struct BufferSlice: @unchecked Sendable {
    /// The buffer viewed.
    public let buffer: Buffer
    /// The first element, in floats.
    public let offset: Int
    /// Elements in the view.
    public let count: Int

    /// A sub-range of this slice.
    public func slice(offset: Int, count: Int) -> BufferSlice {
        precondition(
            offset >= 0 && count >= 0 && offset + count <= self.count,
            "slice [\(offset), \(offset + count)) outside a slice of \(self.count) elements")
        return BufferSlice(buffer: buffer, offset: self.offset + offset, count: count)
    }
}
