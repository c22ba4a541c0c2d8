import CZlib
import Foundation

/// A minimal PNG writer: 8-bit RGB, one IDAT chunk compressed by zlib.
public enum PNG {
    /// An 8-bit RGB PNG of `width` x `height` pixels (`rgb` row-major, 3 bytes per pixel).
    public static func encode(width: Int, height: Int, rgb: [UInt8]) throws -> Data {
        precondition(rgb.count == width * height * 3, "PNG: \(rgb.count) bytes for \(width)x\(height) RGB")
        var raw = [UInt8]()
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0) // filter: none
            raw += rgb[(y * width * 3)..<((y + 1) * width * 3)]
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        guard compress2(&compressed, &compressedLength, raw, uLong(raw.count), 9) == Z_OK else {
            throw BIMTError.invalidSetting("zlib could not compress the image")
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: [UInt8]) {
            let typeBytes = Array(type.utf8)
            png.append(contentsOf: bigEndian(UInt32(body.count)))
            png.append(contentsOf: typeBytes + body)
            let crc = (typeBytes + body).withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
            png.append(contentsOf: bigEndian(UInt32(crc)))
        }
        chunk("IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk("IDAT", Array(compressed.prefix(Int(compressedLength))))
        chunk("IEND", [])
        return png
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)]
    }
}
