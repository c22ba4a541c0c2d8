import BIMTCompute
import Foundation
import Testing
import TestSupport

/// Counter-based dropout: the same masks on every device.
@Suite("Dropout")
struct DropoutTests {
    @Test("the CPU path and OpenCL draw the same mask for a key; the kept fraction is 1 - p, scaled by 1 / (1 - p)")
    func masks() throws {
        let n = 200_003, rate: Float = 0.3
        var results: [[Float]] = []
        for device in try TestDevices.all() {
            let x = try device.makeBuffer([Float](repeating: 2, count: n)), y = try device.makeBuffer(count: n)
            try device.dropout(x.whole, into: y.whole, rate: rate, key: 0xDEAD_BEEF_1234)
            results.append(try device.read(y.whole))
            // In place gives the same; another key another mask.
            try device.dropout(x.whole, into: x.whole, rate: rate, key: 0xDEAD_BEEF_1234)
            #expect(try device.read(x.whole) == results.last!)
            let other = try device.makeBuffer([Float](repeating: 2, count: n))
            try device.dropout(other.whole, into: other.whole, rate: rate, key: 7)
            #expect(try device.read(other.whole) != results.last!)
        }
        let values = results[0]
        #expect(results.allSatisfy { $0 == values }, "devices disagree")
        let kept = values.filter { $0 != 0 }
        #expect(abs(Double(kept.count) / Double(n) - 0.7) < 0.005)
        #expect(kept.allSatisfy { $0 == 2 / (1 - rate) })
    }
}
