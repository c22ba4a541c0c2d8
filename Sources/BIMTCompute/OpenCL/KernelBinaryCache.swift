import Foundation

/// Compiled OpenCL program binaries on disk, so a program is compiled once per device,
/// driver and source rather than once per process (a cold PoCL build costs ~0.6 s).
///
/// The key names the device, its version, the driver version, the build options and the
/// full kernel source. A file holds the key itself, the binary and a checksum; an entry
/// whose key or checksum does not match is ignored (and overwritten by the next build).
/// Entries are written to a temporary file and renamed into place, so a crash never
/// leaves a half-written entry. Location: `$BIMT_KERNEL_CACHE`, else
/// `$XDG_CACHE_HOME/bimt/kernels`, else `~/.cache/bimt/kernels`; `BIMT_KERNEL_CACHE=off`
/// disables it.
struct KernelBinaryCache {
    let directory: URL?

    static let fromEnvironment = KernelBinaryCache(environment: ProcessInfo.processInfo.environment)

    init(environment: [String: String]) {
        if let path = environment["BIMT_KERNEL_CACHE"], !path.isEmpty {
            directory = path == "off" ? nil : URL(fileURLWithPath: path)
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            directory = URL(fileURLWithPath: xdg).appending(path: "bimt/kernels")
        } else if let home = environment["HOME"], !home.isEmpty {
            directory = URL(fileURLWithPath: home).appending(path: ".cache/bimt/kernels")
        } else {
            directory = nil
        }
    }

    init(directory: URL?) { self.directory = directory }

    private static let magic = Array("BIMTCLB1".utf8)

    func url(for key: String) -> URL? {
        directory?.appending(path: String(format: "%016llx.bin", fnv1a64(Array(key.utf8))))
    }

    /// The stored binary for `key`, or nil when absent, unreadable or not matching.
    func load(key: String) -> [UInt8]? {
        guard let url = url(for: key), let data = try? Data(contentsOf: url) else { return nil }
        let bytes = [UInt8](data)
        var reader = ByteReader(bytes: bytes)
        guard reader.take(Self.magic.count) == Self.magic,
            let keyLength = reader.integer(UInt32.self),
            let storedKey = reader.take(Int(keyLength)), storedKey == Array(key.utf8),
            let binaryLength = reader.integer(UInt64.self), binaryLength <= UInt64(bytes.count),
            let binary = reader.take(Int(binaryLength)),
            let checksum = reader.integer(UInt64.self), checksum == fnv1a64(binary),
            reader.isAtEnd, !binary.isEmpty
        else { return nil }
        return binary
    }

    /// Stores `binary` for `key`; failures are ignored (the cache is an optimization).
    func store(key: String, binary: [UInt8]) {
        guard let url = url(for: key), !binary.isEmpty else { return }
        var bytes = Self.magic
        let keyBytes = Array(key.utf8)
        withUnsafeBytes(of: UInt32(keyBytes.count).littleEndian) { bytes += $0 }
        bytes += keyBytes
        withUnsafeBytes(of: UInt64(binary.count).littleEndian) { bytes += $0 }
        bytes += binary
        withUnsafeBytes(of: fnv1a64(binary).littleEndian) { bytes += $0 }
        do {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            // A read-only or full disk only costs a rebuild next time.
        }
    }

    /// Removes the entry for `key` (used when a stored binary fails to load).
    func remove(key: String) {
        guard let url = url(for: key) else { return }
        try? FileManager.default.removeItem(at: url)
    }
}

/// 64-bit FNV-1a: a fast, stable hash for cache keys and checksums (not cryptographic; the
/// same in every process, unlike Swift's seeded `Hasher`).
public func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

/// Bounds-checked little-endian reads from a byte array.
struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    var isAtEnd: Bool { position == bytes.count }

    mutating func take(_ count: Int) -> [UInt8]? {
        guard count >= 0, count <= bytes.count - position else { return nil }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        guard let raw = take(MemoryLayout<T>.size) else { return nil }
        var value: T = 0
        for (i, byte) in raw.enumerated() { value |= T(byte) << (8 * i) }
        return value
    }
}
