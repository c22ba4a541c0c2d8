import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Elementwise operations")
struct ElementwiseTests {
    @Test("fill, copy, scale, axpy on offset slices")
    func basicOps() throws {
        for device in try opDevices() {
            for n in opSizes {
                var generator = SeededGenerator(seed: UInt64(n))
                let x = generator.uniform(n + 5), y = generator.uniform(n + 3)
                let dx = try device.makeBuffer(x), dy = try device.makeBuffer(y)
                let xs = dx.slice(offset: 5, count: n), ys = dy.slice(offset: 3, count: n)

                try device.axpy(alpha: -1.5, x: xs, y: ys)
                expectClose(
                    try device.read(ys), (0..<n).map { Double(y[3 + $0]) - 1.5 * Double(x[5 + $0]) },
                    tolerance: 1e-6, "\(device.name) axpy n=\(n)")
                try device.scale(xs, by: 0.25)
                expectClose(
                    try device.read(xs), (0..<n).map { 0.25 * Double(x[5 + $0]) },
                    tolerance: 1e-7, "\(device.name) scale n=\(n)")
                try device.copy(xs, to: ys)
                #expect(try device.read(ys) == device.read(xs), "\(device.name) copy n=\(n)")
                try device.fill(xs, value: 3.5)
                let whole = try device.read(dx.whole)
                #expect(
                    whole[5...].allSatisfy { $0 == 3.5 } && Array(whole[..<5]) == Array(x[..<5]),
                    "\(device.name) fill n=\(n) must touch exactly its slice")
            }
        }
    }

    @Test("copy between overlapping ranges of one buffer behaves like memmove")
    func overlappingCopy() throws {
        for device in try opDevices() {
            let values = (0..<100).map(Float.init)
            let buffer = try device.makeBuffer(values)
            try device.copy(buffer.slice(offset: 0, count: 80), to: buffer.slice(offset: 10, count: 80))
            #expect(
                try device.read(buffer.whole) == Array(values[..<10]) + Array(values[..<80]) + Array(values[90...]),
                "\(device.name)")
        }
    }

    @Test("mismatched sizes and bad arguments are thrown errors")
    func badInput() throws {
        let device = TestDevices.cpu()
        let a = try device.makeBuffer(count: 10), b = try device.makeBuffer(count: 12)
        #expect(throws: ComputeError.self) { try device.axpy(alpha: 1, x: a.whole, y: b.whole) }
        #expect(throws: ComputeError.self) { try device.copy(a.whole, to: b.whole) }
        #expect(throws: ComputeError.self) { try device.makeBuffer(count: 0) }
        #expect(throws: ComputeError.self) { try device.write([1, 2, 3], to: a.whole) }
    }
}

@Suite("reads without waiting")
struct StartReadTests {
    @Test("a started read returns the values after the work queued before it", arguments: TestDevices.names)
    func startRead(device name: String) throws {
        let device = try TestDevices.named(name)
        let buffer = try device.makeBuffer([Float](repeating: 1, count: 1 << 20))
        try device.scale(buffer.whole, by: 3)
        let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: 1 << 19)
        defer { values.deallocate() }
        let read = try device.startRead(buffer.slice(offset: 1 << 19, count: 1 << 19), into: values)
        try read.wait()
        #expect(try read.isComplete)
        #expect(values.allSatisfy { $0 == 3 })
        #expect(throws: ComputeError.self) { try device.startRead(buffer.whole, into: values) }
    }
}
