import BIMTCompute
import Foundation

/// Draws a network as the paper does: every neuron at its coordinates (inputs at the
/// bottom, one band per swap group, so a conv layer's channel sheet is drawn once; a
/// transformer gets one labelled band per layer, bottom to top: embedding, then per block
/// q/k/v, attention output, MLP, with the residual stream shaded between), one line
/// per connection with width proportional to |w| / max|w| of its matrix (summed over the
/// folds of a folded layer: a conv kernel's k*k taps, a flattened sheet's positions), blue
/// for positive and red for negative, inputs and outputs labelled in their permuted order.
/// Connections below threshold x max of their matrix are left out; at most `maximumLines`
/// of the strongest are drawn.
public enum NetworkRenderer {
    /// The trainer's model, named by its task.
    public static func svg(_ trainer: Trainer, threshold: Float = 0.01, maximumLines: Int = 20000) throws -> String {
        try svg(model: trainer.model, names: trainer.neuronNames, threshold: threshold, maximumLines: maximumLines)
    }

    /// `model` as an SVG document, its inputs and outputs labelled with `names`.
    public static func svg(model: any TrainableModel, names: NeuronNames, threshold: Float = 0.01, maximumLines: Int = 20000) throws -> String {
        let network = model.network
        let values = try model.device.read(model.parameters.whole)
        let order = network.groups.indices.sorted { network.groups[$0].layers.min()! < network.groups[$1].layers.min()! }
        let perLayer = model is GPT
        let band = perLayer ? Dictionary(uniqueKeysWithValues: network.layers.indices.map { ($0, $0) })
            : Dictionary(uniqueKeysWithValues: order.enumerated().flatMap { b, g in network.groups[g].layers.map { ($0, b) } })
        let drawn = perLayer ? Array(network.layers.indices) : order.map { network.groups[$0].layers.min()! }
        let width = perLayer ? 1000.0 : 900.0, bandHeight = perLayer ? 110.0 : 170.0, margin = 50.0
        let left = perLayer ? 150.0 : margin
        let height = Double(drawn.count - 1) * bandHeight + 2 * margin
        func position(_ layer: Int, _ slot: Int) -> (Double, Double) {
            let layout = network.layers[layer].layout, point = layout.slotCoordinates[slot]
            let base = height - margin - Double(band[layer]!) * bandHeight
            guard layout.kind != .line else { return (left + (width - left - margin) * Double(point.x), base) }
            // A 2-D sheet in oblique projection: depth (y) shifts right and up.
            let x = margin + (width - 2 * margin) * (0.72 * Double(point.x) + 0.28 * Double(point.y))
            return (x, base - bandHeight * 0.55 * (Double(point.y) - 0.5))
        }
        // Per-neuron drawing for unfolded layers keeps individual inputs; folded layers collapse to slots.
        func unit(_ layer: Int, _ neuron: Int) -> Int {
            let layout = network.layers[layer].layout
            return neuron % layout.slots
        }
        struct Line { var x1, y1, x2, y2, strength: Double; var positive: Bool }
        var lines: [Line] = []
        for c in network.connections {
            var sums: [Int: (signed: Double, magnitude: Double)] = [:]
            let slotsIn = network.layers[c.input].layout.slots
            for i in 0..<c.weight.rows {
                for j in 0..<c.weight.columns {
                    let w = Double(values[c.weight.offset + i * c.weight.columns + j])
                    let key = unit(c.output, i) * slotsIn + unit(c.input, j)
                    let old = sums[key] ?? (0, 0)
                    sums[key] = (old.signed + w, old.magnitude + abs(w))
                }
            }
            let largest = sums.values.map(\.magnitude).max() ?? 0
            guard largest > 0 else { continue }
            for (key, sum) in sums where sum.magnitude >= Double(threshold) * largest {
                let (x1, y1) = position(c.input, key % slotsIn), (x2, y2) = position(c.output, key / slotsIn)
                lines.append(Line(x1: x1, y1: y1, x2: x2, y2: y2, strength: sum.magnitude / largest, positive: sum.signed > 0))
            }
        }
        lines.sort { $0.strength > $1.strength }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))">
            <rect width="100%" height="100%" fill="white"/>

            """
        if perLayer {
            for layer in drawn {
                let (_, y) = position(layer, 0)
                if network.layers[layer].name.hasPrefix("residual") {
                    svg += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"#e8e8e8\"/>\n",
                                  left - 8, y - 7, width - left - margin + 16)
                }
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"end\">%@</text>\n",
                              left - 14, y + 4, escape(network.layers[layer].name))
            }
            // Attention mixes positions, not neurons: q/k/v slot i feeds attention-output dimension i.
            // Grey lines join them, one shade per head.
            for group in network.groups where group.layers.count == 2 && !network.layers[group.layers[0]].name.hasPrefix("residual") {
                let slots = network.layers[group.layers[0]].layout.slots, head = group.blockSize ?? slots
                for slot in 0..<slots {
                    let (x1, y1) = position(group.layers[0], slot), (x2, y2) = position(group.layers[1], slot)
                    svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"0.8\"/>\n",
                                  x1, y1, x2, y2, (slot / head) % 2 == 0 ? "#9a9a9a" : "#c8c8c8")
                }
            }
        }
        for line in lines.prefix(maximumLines).reversed() {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"%.2f\" stroke-opacity=\"%.2f\"/>\n",
                          line.x1, line.y1, line.x2, line.y2, line.positive ? "#1f4fd1" : "#d11f1f", 3 * line.strength,
                          min(1, 0.25 + line.strength))
        }
        let inputNames = names.inputs, outputNames = names.outputs
        let last = network.layers.count - 1
        for layer in drawn {
            let layout = network.layers[layer].layout
            let radius = layout.slots > 200 ? 1.2 : 3.5
            for slot in 0..<layout.slots {
                let (x, y) = position(layer, slot)
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#222\"/>\n", x, y, radius)
                guard layout.slots <= 64, layer == 0 || layer == last else { continue }
                let label = layer == last ? outputNames[slot] : (layout.folds == 1 ? inputNames[slot] : "\(slot)")
                svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-family=\"sans-serif\" font-size=\"%d\" text-anchor=\"middle\">%@</text>\n",
                              x, layer == 0 ? y + 18 : y - 10, layout.slots > 24 ? 7 : 13, escape(label))
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Receptive fields: each neuron of the first hidden layer as a small image of its
    /// incoming weights (the input must be a grid), tiles arranged as that layer's own grid
    /// (or a square), blue positive, red negative, all tiles on one scale for the layer.
    public static func receptiveFields(model: any TrainableModel, scale: Int = 3) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let network = model.network
        guard model is MLP, let first = network.connections.first,
              network.layers[0].layout.kind == .grid, let side = network.layers[0].layout.gridWidth else {
            throw BIMTError.invalidSetting("receptive fields need an MLP whose input is a grid (the mnist preset's model)")
        }
        let rowsIn = network.layers[0].layout.slots / side
        let values = try model.device.read(model.parameters.whole)
        let neurons = first.weight.rows
        // One scale for the whole layer (its 99.5th percentile of |w|, clamped above), so pruned-away
        // neurons show blank and a few large weights do not wash out the rest.
        let magnitudes = values[first.weight.offset..<(first.weight.offset + first.weight.count)].map(abs).sorted()
        let layerLargest = magnitudes[min(magnitudes.count - 1, Int(Double(magnitudes.count) * 0.995))]
        let tilesAcross = network.layers[1].layout.gridWidth ?? Int(Double(neurons).squareRoot().rounded(.up))
        let tilesDown = (neurons + tilesAcross - 1) / tilesAcross
        let tileW = side * scale + 2, tileH = rowsIn * scale + 2
        let width = tilesAcross * tileW, height = tilesDown * tileH
        var rgb = [UInt8](repeating: 255, count: width * height * 3)
        for n in 0..<neurons {
            let row = Array(values[(first.weight.offset + n * first.weight.columns)..<(first.weight.offset + (n + 1) * first.weight.columns)])
            let largest = layerLargest
            let ox = (n % tilesAcross) * tileW + 1, oy = (n / tilesAcross) * tileH + 1
            for pixel in 0..<first.weight.columns {
                // The physical input neuron at slot s shows the pixel in_perm[s] (inputs do not move for images).
                let logical = network.inputPermutation[pixel]
                let v = largest > 0 ? max(-1, min(1, row[pixel] / largest)) : 0
                let shade = UInt8(max(0, min(255, 255 * (1 - abs(v)))))
                let color: (UInt8, UInt8, UInt8) = v >= 0 ? (shade, shade, 255) : (255, shade, shade)
                for dy in 0..<scale {
                    for dx in 0..<scale {
                        let x = ox + (logical % side) * scale + dx, y = oy + (logical / side) * scale + dy
                        let index = (y * width + x) * 3
                        (rgb[index], rgb[index + 1], rgb[index + 2]) = color
                    }
                }
            }
        }
        return (width, height, rgb)
    }
}
