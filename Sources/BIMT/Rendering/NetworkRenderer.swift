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
    /// `model` as an SVG document, its inputs and outputs labelled with `names`.
    public static func svg(
        model: any TrainableModel, names: NeuronNames, threshold: Float = 0.01, maximumLines: Int = 20000
    ) throws -> String {
        let drawing = NetworkDrawing(
            network: model.network, values: try model.device.read(model.parameters.whole), names: names,
            perLayer: model is GPT, threshold: threshold, maximumLines: maximumLines)
        return svg(drawing)
    }

    /// A checkpoint's model as an SVG document, read on the host (no device).
    public static func svg(_ stored: StoredModel, threshold: Float = 0.01, maximumLines: Int = 20000) -> String {
        svg(NetworkDrawing(stored, threshold: threshold, maximumLines: maximumLines))
    }

    /// A drawing as an SVG document.
    public static func svg(_ drawing: NetworkDrawing) -> String {
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(drawing.width))" height="\(Int(drawing.height))" \
            viewBox="0 0 \(Int(drawing.width)) \(Int(drawing.height))">
            <rect width="100%" height="100%" fill="white"/>

            """
        var shades = drawing.shades.makeIterator()
        for label in drawing.layerLabels {
            if label.text.hasPrefix("residual"), let shade = shades.next() {
                svg += String(
                    format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"#e8e8e8\"/>\n", shade.x,
                    shade.y, shade.width)
            }
            svg += String(
                format:
                    "<text x=\"%.1f\" y=\"%.1f\" "
                    + "font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"end\">%@</text>\n",
                label.x, label.y, escape(label.text))
        }
        for guide in drawing.guides {
            svg += String(
                format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"0.8\"/>\n",
                guide.x1, guide.y1, guide.x2, guide.y2, guide.dark ? "#9a9a9a" : "#c8c8c8")
        }
        for line in drawing.lines.reversed() {
            svg += String(
                format:
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    + "stroke=\"%@\" stroke-width=\"%.2f\" stroke-opacity=\"%.2f\"/>\n",
                line.x1, line.y1, line.x2, line.y2, line.positive ? "#1f4fd1" : "#d11f1f", 3 * line.strength,
                min(1, 0.25 + line.strength))
        }
        // Neurons, each followed by its label when it has one.
        var labels = drawing.neuronLabels.makeIterator(), next = labels.next()
        for (index, neuron) in drawing.neurons.enumerated() {
            svg += String(
                format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#222\"/>\n", neuron.x, neuron.y,
                neuron.radius)
            if let label = next, label.neuron == index {
                svg += String(
                    format:
                        "<text x=\"%.1f\" y=\"%.1f\" "
                        + "font-family=\"sans-serif\" font-size=\"%d\" text-anchor=\"middle\">%@</text>\n",
                    label.x, label.y, label.size, escape(label.text))
                next = labels.next()
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Receptive fields: each neuron of the first hidden layer as a small image of its
    /// incoming weights (the input must be a grid), tiles arranged as that layer's own grid
    /// (or a square), blue positive, red negative, all tiles on one scale for the layer.
    public static func receptiveFields(model: any TrainableModel, scale: Int = 3) throws -> (
        width: Int, height: Int, rgb: [UInt8]
    ) {
        try receptiveFields(
            network: model.network, values: try model.device.read(model.parameters.whole),
            isMLP: model is MLP, scale: scale)
    }

    /// The receptive fields of a checkpoint's model, read on the host (no device).
    public static func receptiveFields(_ stored: StoredModel, scale: Int = 3) throws
        -> (width: Int, height: Int, rgb: [UInt8])
    {
        let isMLP = if case .mlp = stored.specification { true } else { false }
        return try receptiveFields(network: stored.network, values: stored.values, isMLP: isMLP, scale: scale)
    }

    static func receptiveFields(network: SpatialNetwork, values: [Float], isMLP: Bool, scale: Int) throws
        -> (width: Int, height: Int, rgb: [UInt8])
    {
        guard isMLP, let first = network.connections.first,
            network.layers[0].layout.kind == .grid, let side = network.layers[0].layout.gridWidth
        else {
            throw BIMTError.invalidSetting(
                "receptive fields need an MLP whose input is a grid (the mnist preset's model)")
        }
        let rowsIn = network.layers[0].layout.slots / side
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
            let row = Array(
                values[
                    (first.weight.offset + n * first.weight.columns)..<(first.weight.offset + (n + 1)
                        * first.weight.columns)
                ])
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
