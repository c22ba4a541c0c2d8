import BIMT
import BIMTCompute
import Foundation
import Testing

/// An independent GIF reader for the tests: the frames' palette indices, decoded with the
/// specification's LZW decoder.
func decodeGIF(_ data: Data) throws -> (width: Int, height: Int, frames: [[UInt8]]) {
    let bytes = [UInt8](data)
    #expect(Array(bytes[0..<6]) == Array("GIF89a".utf8))
    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    let width = u16(6), height = u16(8)
    var at = 13 + (bytes[10] & 0x80 != 0 ? 3 << (Int(bytes[10] & 7) + 1) : 0)
    var frames: [[UInt8]] = []
    while at < bytes.count, bytes[at] != 0x3B {
        if bytes[at] == 0x21 { // an extension: skip its sub-blocks
            at += 2
            while bytes[at] != 0 { at += Int(bytes[at]) + 1 }
            at += 1
            continue
        }
        try #require(bytes[at] == 0x2C, "unexpected block \(bytes[at]) at \(at)")
        let minimum = Int(bytes[at + 10])
        at += 11
        var packed: [UInt8] = []
        while bytes[at] != 0 { packed += bytes[(at + 1)...(at + Int(bytes[at]))]; at += Int(bytes[at]) + 1 }
        at += 1
        // LZW: codes of codeSize bits, least significant first.
        let clear = 1 << minimum, end = clear + 1
        var codeSize = minimum + 1, table: [[UInt8]] = [], previous: [UInt8]? = nil, output: [UInt8] = []
        func reset() { table = (0..<clear).map { [UInt8($0)] } + [[], []]; codeSize = minimum + 1; previous = nil }
        reset()
        var bit = 0
        while bit + codeSize <= packed.count * 8 {
            var code = 0
            for i in 0..<codeSize where packed[(bit + i) / 8] >> ((bit + i) % 8) & 1 == 1 { code |= 1 << i }
            bit += codeSize
            if code == clear { reset(); continue }
            if code == end { break }
            let entry: [UInt8]
            if code < table.count {
                entry = table[code]
            } else {
                let prior = try #require(previous, "code \(code) before any entry")
                entry = prior + [prior[0]]
            }
            output += entry
            if let prior = previous, table.count < 4096 { table.append(prior + [entry[0]]) }
            previous = entry
            if table.count == 1 << codeSize && codeSize < 12 { codeSize += 1 }
        }
        frames.append(output)
    }
    return (width, height, frames)
}

@Suite("Animated GIF")
struct GIFTests {
    @Test("frames decode to the indices written, with table resets past 4096 codes", arguments: [(7, 5), (300, 200)])
    func roundTrip(size: (Int, Int)) throws {
        var generator = SeededGenerator(seed: UInt64(size.0))
        let count = size.0 * size.1
        // A smooth frame (long runs), a noisy one (a full table, resets) and a constant one.
        let frames: [[UInt8]] = [
            (0..<count).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: (i % size.0) * 255 / max(1, size.0 - 1)) },
            generator.uniform(count, 0, 255).map { (v: Float) -> UInt8 in UInt8(truncatingIfNeeded: Int(v)) },
            [UInt8](repeating: 42, count: count),
        ]
        let decoded = try decodeGIF(GIF.encode(width: size.0, height: size.1, frames: frames, delay: 10))
        #expect(decoded.width == size.0 && decoded.height == size.1)
        #expect(decoded.frames == frames)
    }

    @Test("a drawing's frame: white ground, a positive weight blue, a negative one red, neurons dark, the progress bar")
    func raster() throws {
        let device = Device.cpu()
        let model = try MLP(
            architecture: MLPArchitecture(widths: [2, 2], activation: .silu), costSettings: CostSettings(),
            device: device)
        var values = try device.read(model.parameters.whole)
        let weight = model.network.connections[0].weight
        for (i, w) in [Float(1), 0, 0, -1].enumerated() { values[weight.offset + i] = w }
        let names = NeuronNames(model: model, inputNames: ["a", "b"], outputNames: ["y", "z"])
        let drawing = NetworkDrawing(network: model.network, values: values, names: names, perLayer: false)
        #expect(drawing.lines.count == 2 && drawing.neurons.count == 4)
        let width = 300, (height, pixels) = GIF.raster(drawing, width: width, progress: 0.5, relocated: false)
        let scale = Double(width) / drawing.width
        func color(_ x: Double, _ y: Double) -> (UInt8, UInt8, UInt8) {
            GIF.palette[Int(pixels[Int((y * scale).rounded()) * width + Int((x * scale).rounded())])]
        }
        for line in drawing.lines {
            let (r, _, b) = color((line.x1 + line.x2) / 2, (line.y1 + line.y2) / 2)
            #expect(line.positive ? Int(b) > Int(r) + 100 : Int(r) > Int(b) + 100, "the line's middle is \(r), \(b)")
        }
        let neuron = drawing.neurons[0], (nr, ng, nb) = color(neuron.x, neuron.y)
        #expect(Int(nr) + Int(ng) + Int(nb) < 200)
        #expect(GIF.palette[Int(pixels[(height - 2) * width + 1])] == (255, 255, 255))
        let (br, _, bb) = GIF.palette[Int(pixels[width + 10])], after = GIF.palette[Int(pixels[width + width - 10])]
        #expect(Int(bb) > Int(br) + 100 && after.0 > 200, "the bar fills the first half")
    }
}
