import BIMTCompute
import Foundation

/// Draws a network as the paper does: every neuron at its coordinates (inputs at the
/// bottom, one band per layer), one line per weight with width proportional to
/// |w| / max|w| of its matrix, blue for positive and red for negative, and the inputs and
/// outputs labelled in their permuted order. Weights below threshold x max|w| are left out.
public enum NetworkRenderer {
    public static func svg(_ trainer: Trainer, threshold: Float = 0.01) throws -> String {
        let network = trainer.model.network
        let values = try trainer.device.read(trainer.model.parameters.whole)
        let layers = network.layers.count
        let width = 900.0, band = 170.0, margin = 50.0
        let height = Double(layers - 1) * band + 2 * margin
        // Position of neuron j of layer l: x from the layout; y from the band, with a grid or
        // ring's own y drawn as depth within the band.
        func position(_ layer: Int, _ j: Int) -> (Double, Double) {
            let layout = network.layers[layer].layout, point = layout.slotCoordinates[j % layout.slots]
            let fold = Double(j / layout.slots), folds = Double(layout.folds)
            let x = margin + (width - 2 * margin) * (Double(point.x) + fold) / folds
            var y = height - margin - Double(layer) * band
            if layout.kind != .line { y -= band * 0.6 * (Double(point.y) - 0.5) }
            return (x, y)
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))">
            <rect width="100%" height="100%" fill="white"/>

            """
        for c in network.connections {
            let range = c.weight.offset..<(c.weight.offset + c.weight.count)
            let largest = Double(values[range].map(abs).max() ?? 0)
            guard largest > 0 else { continue }
            for i in 0..<c.weight.rows {
                for j in 0..<c.weight.columns {
                    let w = Double(values[c.weight.offset + i * c.weight.columns + j])
                    guard abs(w) >= Double(threshold) * largest else { continue }
                    let (x1, y1) = position(c.input, j), (x2, y2) = position(c.output, i)
                    let strength = abs(w) / largest
                    svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-width=\"%.2f\" stroke-opacity=\"%.2f\"/>\n",
                                  x1, y1, x2, y2, w > 0 ? "#1f4fd1" : "#d11f1f", 3 * strength, min(1, 0.25 + strength))
                }
            }
        }
        let inputNames = trainer.inputNeuronNames, outputNames = trainer.outputNeuronNames
        for layer in 0..<layers {
            let count = network.layers[layer].layout.neuronCount
            let radius = count > 200 ? 1.2 : 3.5
            for j in 0..<count {
                let (x, y) = position(layer, j)
                svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#222\"/>\n", x, y, radius)
                if count <= 64 && (layer == 0 || layer == layers - 1) {
                    let label = layer == 0 ? inputNames[j] : outputNames[j]
                    svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-family=\"sans-serif\" font-size=\"%d\" text-anchor=\"middle\">%@</text>\n",
                                  x, layer == 0 ? y + 18 : y - 10, count > 24 ? 7 : 13, escape(label))
                }
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
