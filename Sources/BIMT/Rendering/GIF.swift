import Foundation

/// Animated GIF89a of 8-bit indexed frames sharing one 256-colour palette, looping forever
/// (LZW-compressed as the GIF specification has it), and the rasterizer that turns
/// `NetworkDrawing`s into such frames for `bimt render --animate`.
public enum GIF {
    /// The palette: a 6 x 6 x 6 colour cube, then 40 greys.
    public static let palette: [(UInt8, UInt8, UInt8)] = {
        var colors: [(UInt8, UInt8, UInt8)] = []
        for i in 0..<216 {
            let r: Int = i / 36 * 51, g: Int = i / 6 % 6 * 51, b: Int = i % 6 * 51
            colors.append((UInt8(r), UInt8(g), UInt8(b)))
        }
        for i in 0..<40 {
            let grey: Int = min(255, 5 + i * 250 / 39)
            colors.append((UInt8(grey), UInt8(grey), UInt8(grey)))
        }
        return colors
    }()

    /// The palette index nearest to an RGB colour (channels 0...1).
    static func index(_ r: Float, _ g: Float, _ b: Float) -> UInt8 {
        func level(_ v: Float) -> Int { Int((max(0, min(1, v)) * 5).rounded()) }
        let cube = level(r) * 36 + level(g) * 6 + level(b)
        let c = palette[cube]
        func error(_ p: (UInt8, UInt8, UInt8)) -> Float {
            let dr = Float(p.0) / 255 - r, dg = Float(p.1) / 255 - g, db = Float(p.2) / 255 - b
            return dr * dr + dg * dg + db * db
        }
        let mean = (r + g + b) / 3, grey = 216 + max(0, min(39, Int(((mean * 255 - 5) * 39 / 250).rounded())))
        return error(palette[grey]) < error(c) ? UInt8(grey) : UInt8(cube)
    }

    /// The file: `frames` of width x height palette indices, `delay` hundredths of a second each.
    public static func encode(width: Int, height: Int, frames: [[UInt8]], delay: Int) -> Data {
        var out = Data("GIF89a".utf8)
        func u16(_ v: Int) { out.append(UInt8(v & 0xff)); out.append(UInt8(v >> 8 & 0xff)) }
        u16(width); u16(height)
        out.append(contentsOf: [0xF7, 0, 0]) // global table of 2^(7+1) colours, 8 bits per channel
        for (r, g, b) in palette { out.append(contentsOf: [r, g, b]) }
        out.append(contentsOf: [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0]) // loop forever
        for frame in frames {
            out.append(contentsOf: [0x21, 0xF9, 4, 0]); u16(delay); out.append(contentsOf: [0, 0])
            out.append(0x2C); u16(0); u16(0); u16(width); u16(height); out.append(0)
            out.append(8) // minimum code size
            let packed = lzw(frame)
            for start in stride(from: 0, to: packed.count, by: 255) {
                let block = packed[start..<min(packed.count, start + 255)]
                out.append(UInt8(block.count)); out.append(contentsOf: block)
            }
            out.append(0)
        }
        out.append(0x3B)
        return out
    }

    /// GIF's variable-length LZW of 8-bit indices: codes from 9 to 12 bits, least significant
    /// bit first; a clear code starts over when the 4096-entry table is full.
    static func lzw(_ pixels: [UInt8]) -> [UInt8] {
        let clear = 256, end = 257
        var bytes: [UInt8] = [], buffer = 0, bits = 0
        var codeSize = 9, next = end + 1, table: [Int: Int] = [:]
        var clearing = false
        func emit(_ code: Int) {
            buffer |= code << bits
            bits += codeSize
            while bits >= 8 { bytes.append(UInt8(buffer & 0xff)); buffer >>= 8; bits -= 8 }
            if clearing {
                codeSize = 9
                clearing = false
            } else if next > (1 << codeSize) - 1 && codeSize < 12 {
                codeSize += 1
            }
        }
        emit(clear)
        guard var prefix = pixels.first.map(Int.init) else {
            emit(end); return bytes + (bits > 0 ? [UInt8(buffer)] : [])
        }
        for pixel in pixels.dropFirst() {
            let key = prefix << 8 | Int(pixel)
            if let code = table[key] { prefix = code; continue }
            emit(prefix)
            if next < 4096 {
                table[key] = next
                next += 1
            } else {
                table.removeAll(keepingCapacity: true)
                next = end + 1
                clearing = true
                emit(clear)
            }
            prefix = Int(pixel)
        }
        emit(prefix)
        emit(end)
        if bits > 0 { bytes.append(UInt8(buffer & 0xff)) }
        return bytes
    }

    /// A drawing's frame: white ground, residual shades, guides, weight lines (width and
    /// opacity growing with strength, blue positive, red negative), neurons, and a bar at the
    /// top showing how far into the run (`progress` in 0...1) it is, orange after a relocation.
    public static func raster(_ drawing: NetworkDrawing, width: Int, progress: Double, relocated: Bool) -> (
        height: Int, pixels: [UInt8]
    ) {
        let scale = Double(width) / drawing.width, height = Int((drawing.height * scale).rounded())
        var rgb = [Float](repeating: 1, count: width * height * 3)
        func blend(_ x: Int, _ y: Int, _ color: (Float, Float, Float), _ alpha: Float) {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let i = (y * width + x) * 3
            rgb[i] += (color.0 - rgb[i]) * alpha
            rgb[i + 1] += (color.1 - rgb[i + 1]) * alpha
            rgb[i + 2] += (color.2 - rgb[i + 2]) * alpha
        }
        func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, _ color: (Float, Float, Float)) {
            for py in Int(y * scale)..<Int(((y + h) * scale).rounded(.up)) {
                for px in Int(x * scale)..<Int(((x + w) * scale).rounded(.up)) { blend(px, py, color, 1) }
            }
        }
        func line(
            _ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ lineWidth: Double, _ color: (Float, Float, Float),
            _ alpha: Float
        ) {
            let (ax, ay, bx, by) = (x1 * scale, y1 * scale, x2 * scale, y2 * scale)
            let length = max(abs(bx - ax), abs(by - ay)), steps = max(1, Int(length.rounded(.up)))
            let radius = max(0, lineWidth * scale / 2), reach = Int(radius.rounded(.up))
            // A thin line is one pixel whose opacity carries its width.
            let strength = alpha * Float(min(1, lineWidth * scale))
            var last = (Int.min, Int.min)
            for s in 0...steps {
                let t = Double(s) / Double(steps), cx = ax + (bx - ax) * t, cy = ay + (by - ay) * t
                let center = (Int(cx.rounded()), Int(cy.rounded()))
                if center == last { continue }
                last = center
                for dy in -reach...reach {
                    for dx in -reach...reach where Double(dx * dx + dy * dy) <= radius * radius + 0.25 {
                        blend(center.0 + dx, center.1 + dy, color, strength * 0.9)
                    }
                }
            }
        }
        for shade in drawing.shades { rect(shade.x, shade.y, shade.width, shade.height, (0.91, 0.91, 0.91)) }
        for guide in drawing.guides {
            line(guide.x1, guide.y1, guide.x2, guide.y2, 0.8, guide.dark ? (0.6, 0.6, 0.6) : (0.78, 0.78, 0.78), 1)
        }
        for l in drawing.lines.reversed() {
            line(
                l.x1, l.y1, l.x2, l.y2, max(0.4, 3 * l.strength), l.positive ? (0.12, 0.31, 0.82) : (0.82, 0.12, 0.12),
                Float(min(1, 0.25 + l.strength)))
        }
        for neuron in drawing.neurons {
            let r = max(0.8, neuron.radius * scale), cx = neuron.x * scale, cy = neuron.y * scale
            for py in Int(cy - r)...Int(cy + r) {
                for px in Int(cx - r)...Int(cx + r)
                where (Double(px) - cx) * (Double(px) - cx) + (Double(py) - cy) * (Double(py) - cy) <= r * r {
                    blend(px, py, (0.13, 0.13, 0.13), 1)
                }
            }
        }
        let bar = Int(Double(width) * max(0, min(1, progress)))
        for py in 0..<min(height, 4) {
            for px in 0..<width {
                blend(px, py, px < bar ? (relocated ? (0.88, 0.54, 0) : (0.12, 0.31, 0.82)) : (0.93, 0.93, 0.93), 1)
            }
        }
        var pixels = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) { pixels[i] = index(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) }
        return (height, pixels)
    }
}
