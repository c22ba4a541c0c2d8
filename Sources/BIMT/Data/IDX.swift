import CZlib
import Foundation

/// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, type 0x08 = unsigned
/// byte, rank), `rank` big-endian UInt32 dimensions, then the bytes. Files may be gzipped.
public enum IDX {
    /// An IDX file's unsigned-byte tensor.
    public struct Array: Sendable, Equatable {
        /// The dimensions, outermost first.
        public let dimensions: [Int]
        /// The elements, row-major.
        public let bytes: [UInt8]
    }

    /// Reads `url` (gunzipping a `.gz` file or any file starting with the gzip magic).
    public static func read(_ url: URL) throws -> Array {
        guard let raw = try? Data(contentsOf: url) else {
            throw BIMTError.invalidFile(path: url.path, reason: "cannot be read")
        }
        let data = raw.starts(with: [0x1F, 0x8B]) ? try gunzip(raw, path: url.path) : raw
        return try parse(data, path: url.path)
    }

    /// Parses IDX bytes (gzip-compressed or not); `path` names them in errors.
    public static func parse(_ data: Data, path: String) throws -> Array {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw BIMTError.invalidFile(path: path, reason: "wrong magic number: not an IDX file")
        }
        guard bytes[2] == 0x08 else {
            throw BIMTError.invalidFile(
                path: path, reason: "IDX element type 0x\(String(bytes[2], radix: 16)) is not unsigned byte (0x08)")
        }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank), bytes.count >= 4 + 4 * rank else {
            throw BIMTError.invalidFile(path: path, reason: "IDX rank \(rank) with a truncated header")
        }
        var dimensions: [Int] = [], count = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let value = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dimensions.append(value)
            count *= value
            guard count <= bytes.count else {
                throw BIMTError.invalidFile(
                    path: path, reason: "IDX dimensions \(dimensions) claim more data than the file holds")
            }
        }
        let start = 4 + 4 * rank
        guard bytes.count - start == count else {
            throw BIMTError.invalidFile(
                path: path,
                reason: "IDX dimensions \(dimensions) need \(count) bytes of data, the file has \(bytes.count - start)")
        }
        return Array(dimensions: dimensions, bytes: Swift.Array(bytes[start...]))
    }

    /// Inflates a gzip stream; a truncated or corrupt stream is an error.
    static func gunzip(_ data: Data, path: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw BIMTError.invalidFile(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let input = [UInt8](data)
        var status: Int32 = Z_OK
        input.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(target.baseAddress!, count: target.count - Int(stream.avail_out))
                }
            } while status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else {
            throw BIMTError.invalidFile(path: path, reason: "truncated or corrupt gzip data (zlib status \(status))")
        }
        return output
    }

    /// An image split: images [N, rows, cols] scaled to [0, 1] and labels [N] in 0...9.
    public static func imageSplit(images: URL, labels: URL) throws -> (
        images: [Float], labels: [Int], rows: Int, columns: Int
    ) {
        let x = try read(images), y = try read(labels)
        guard x.dimensions.count == 3 else {
            throw BIMTError.invalidFile(
                path: images.path, reason: "expected images [N, rows, cols], got dimensions \(x.dimensions)")
        }
        guard y.dimensions.count == 1 else {
            throw BIMTError.invalidFile(
                path: labels.path, reason: "expected labels [N], got dimensions \(y.dimensions)")
        }
        guard x.dimensions[0] == y.dimensions[0] else {
            throw BIMTError.invalidFile(
                path: labels.path,
                reason: "\(y.dimensions[0]) labels for \(x.dimensions[0]) images in \(images.lastPathComponent)")
        }
        return (x.bytes.map { Float($0) / 255 }, y.bytes.map(Int.init), x.dimensions[1], x.dimensions[2])
    }
}
