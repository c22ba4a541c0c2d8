@testable import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Kernel binary cache files")
struct KernelBinaryCacheTests {
    @Test("round trip, key mismatch, bit flips and the off switch")
    func roundTrip() throws {
        let directory = FileManager.default.temporaryDirectory.appending(path: "bimt-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let cache = KernelBinaryCache(directory: directory)
        let binary: [UInt8] = (0..<1000).map { UInt8($0 % 251) }
        cache.store(key: "device\u{1F}source", binary: binary)
        #expect(cache.load(key: "device\u{1F}source") == binary)
        #expect(cache.load(key: "device\u{1F}other source") == nil)

        let file = try #require(cache.url(for: "device\u{1F}source"))
        var bytes = [UInt8](try Data(contentsOf: file))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: file)
        #expect(cache.load(key: "device\u{1F}source") == nil, "a flipped bit passed the checksum")

        #expect(KernelBinaryCache(environment: ["BIMT_KERNEL_CACHE": "off"]).directory == nil)
        #expect(KernelBinaryCache(environment: ["HOME": "/h"]).directory?.path == "/h/.cache/bimt/kernels")
    }
}
