import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Gathers and permutations")
struct PermuteTests {
    @Test("batch gathers, with the row indices from the host and already on the device")
    func gatherRows() throws {
        let (vocabulary, dimension) = (11, 5)
        var generator = SeededGenerator(seed: 4)
        let table = generator.uniform(vocabulary * dimension)
        let indices = [3, 0, 10, 3]
        let expected = indices.flatMap { table[($0 * dimension)..<(($0 + 1) * dimension)] }
        for device in try opDevices() {
            let gathered = try device.makeBuffer(count: indices.count * dimension)
            try device.gatherRows(
                source: try device.makeBuffer(table).whole, columns: dimension, indices: indices,
                into: gathered.whole)
            #expect(try device.read(gathered.whole) == expected)
            // The same rows with the indices already on the device, from an offset slice.
            let deviceIndices = try device.makeBuffer([7] + indices.map(Float.init))
                .slice(offset: 1, count: indices.count)
            try device.fill(gathered.whole, value: -1)
            try device.gatherRows(
                source: try device.makeBuffer(table).whole, columns: dimension,
                deviceIndices: deviceIndices, into: gathered.whole)
            #expect(
                try device.read(gathered.whole) == expected,
                "\(device.name) gather with device indices")
            #expect(throws: ComputeError.self) {
                try device.gatherRows(
                    source: try device.makeBuffer(table).whole, columns: dimension, indices: [11],
                    into: try device.makeBuffer(count: dimension).whole)
            }
        }
    }

    @Test("a permutation that repeats an index is a thrown error")
    func badInput() throws {
        let device = Device.cpu()
        let w = try device.makeBuffer(count: 12)
        #expect(throws: ComputeError.self) {
            try device.permute(w.whole, rows: 3, columns: 4, permutation: [0, 0, 1], alongRows: true)
        }
    }
}
