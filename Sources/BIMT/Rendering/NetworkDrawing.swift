import Foundation

/// A network as the paper draws it, in coordinates: every neuron at its position (one band
/// per swap group, or per layer for a transformer), the lines of one set of weights, and
/// the labels. `NetworkRenderer` writes it as SVG; `RunViewer` animates its lines over a
/// run's snapshots.
public struct NetworkDrawing: Sendable {
    /// A drawn neuron: its band and slot, and where it sits.
    public struct Neuron: Sendable { public var band: Int, slot: Int, x: Double, y: Double, radius: Double }
    /// One connection (summed over a folded layer's folds): from neuron `from` to neuron
    /// `to` (indices into `neurons`), strength |w| / max|w| of its matrix, and its sign.
    public struct Line: Sendable {
        public var x1, y1, x2, y2, strength: Double; public var positive: Bool; public var from: Int, to: Int
    }
    /// A text at a point ("end" or "middle" anchored), and the neuron it names (if any).
    public struct Label: Sendable {
        /// Where the text is anchored.
        public var x, y: Double
        /// What it says.
        public var text: String
        /// Font size in pixels.
        public var size: Int
        /// "end" or "middle".
        public var anchor: String
        /// The index in `neurons` of the neuron it names.
        public var neuron: Int? = nil
    }

    /// The picture's size.
    public var width: Double, height: Double
    /// Every drawn neuron (one per slot of each band).
    public var neurons: [Neuron]
    /// Shaded residual bands (x, y, width, height) of a transformer.
    public var shades: [(x: Double, y: Double, width: Double, height: Double)]
    /// Layer names at the left of a transformer's bands.
    public var layerLabels: [Label]
    /// Grey guides joining each q/k/v slot to its attention-output dimension (dark: even heads).
    public var guides: [(x1: Double, y1: Double, x2: Double, y2: Double, dark: Bool)]
    /// The weights' lines, strongest first.
    public var lines: [Line]
    /// Input and output names beside their neurons (where there are at most 64).
    public var neuronLabels: [Label]

    /// The drawing of a checkpoint's model (a transformer one band per layer).
    public init(_ stored: StoredModel, threshold: Float = 0.01, maximumLines: Int = 20000) {
        let perLayer = if case .transformer = stored.specification { true } else { false }
        self.init(
            network: stored.network, values: stored.values, names: stored.names, perLayer: perLayer,
            threshold: threshold, maximumLines: maximumLines)
    }

    /// The drawing of `network` with weights `values` (the model's flat parameters).
    public init(
        network: SpatialNetwork, values: [Float], names: NeuronNames, perLayer: Bool, threshold: Float = 0.01,
        maximumLines: Int = 20000
    ) {
        let order = network.groups.indices.sorted {
            network.groups[$0].layers.min()! < network.groups[$1].layers.min()!
        }
        let band =
            perLayer
            ? Dictionary(uniqueKeysWithValues: network.layers.indices.map { ($0, $0) })
            : Dictionary(
                uniqueKeysWithValues: order.enumerated().flatMap { b, g in network.groups[g].layers.map { ($0, b) } })
        let drawn = perLayer ? Array(network.layers.indices) : order.map { network.groups[$0].layers.min()! }
        let width = perLayer ? 1000.0 : 900.0, bandHeight = perLayer ? 110.0 : 170.0, margin = 50.0
        let left = perLayer ? 150.0 : margin
        let height = Double(drawn.count - 1) * bandHeight + 2 * margin
        (self.width, self.height) = (width, height)
        func position(_ layer: Int, _ slot: Int) -> (Double, Double) {
            let layout = network.layers[layer].layout, point = layout.slotCoordinates[slot]
            let base = height - margin - Double(band[layer]!) * bandHeight
            guard layout.kind != .line else { return (left + (width - left - margin) * Double(point.x), base) }
            // A 2-D sheet in oblique projection: depth (y) shifts right and up.
            let x = margin + (width - 2 * margin) * (0.72 * Double(point.x) + 0.28 * Double(point.y))
            return (x, base - bandHeight * 0.55 * (Double(point.y) - 0.5))
        }
        // Neurons, and the index of (band, slot) among them.
        var neurons: [Neuron] = [], index: [Int: Int] = [:]
        var neuronLabels: [Label] = []
        let last = network.layers.count - 1
        for layer in drawn {
            let layout = network.layers[layer].layout
            let radius = layout.slots > 200 ? 1.2 : 3.5
            for slot in 0..<layout.slots {
                let (x, y) = position(layer, slot)
                index[band[layer]! * 1_000_000 + slot] = neurons.count
                neurons.append(Neuron(band: band[layer]!, slot: slot, x: x, y: y, radius: radius))
                guard layout.slots <= 64, layer == 0 || layer == last else { continue }
                let label = layer == last ? names.outputs[slot] : (layout.folds == 1 ? names.inputs[slot] : "\(slot)")
                neuronLabels.append(
                    Label(
                        x: x, y: layer == 0 ? y + 18 : y - 10, text: label, size: layout.slots > 24 ? 7 : 13,
                        anchor: "middle", neuron: neurons.count - 1))
            }
        }
        self.neurons = neurons
        self.neuronLabels = neuronLabels
        shades = []
        layerLabels = []
        guides = []
        if perLayer {
            for layer in drawn {
                let (_, y) = position(layer, 0)
                if network.layers[layer].name.hasPrefix("residual") {
                    shades.append((left - 8, y - 7, width - left - margin + 16, 14))
                }
                layerLabels.append(
                    Label(x: left - 14, y: y + 4, text: network.layers[layer].name, size: 12, anchor: "end"))
            }
            // Attention mixes positions, not neurons: q/k/v slot i feeds attention-output dimension i.
            for group in network.groups
            where group.layers.count == 2 && !network.layers[group.layers[0]].name.hasPrefix("residual") {
                let slots = network.layers[group.layers[0]].layout.slots, head = group.blockSize ?? slots
                for slot in 0..<slots {
                    let (x1, y1) = position(group.layers[0], slot), (x2, y2) = position(group.layers[1], slot)
                    guides.append((x1, y1, x2, y2, (slot / head) % 2 == 0))
                }
            }
        }
        var lines: [Line] = []
        for c in network.connections {
            var sums: [Int: (signed: Double, magnitude: Double)] = [:]
            let slotsIn = network.layers[c.input].layout.slots, slotsOut = network.layers[c.output].layout.slots
            for i in 0..<c.weight.rows {
                for j in 0..<c.weight.columns {
                    let w = Double(values[c.weight.offset + i * c.weight.columns + j])
                    // Folded layers (a conv kernel's taps, a flattened sheet) collapse onto their slots.
                    let key = (i % slotsOut) * slotsIn + j % slotsIn
                    let old = sums[key] ?? (0, 0)
                    sums[key] = (old.signed + w, old.magnitude + abs(w))
                }
            }
            let largest = sums.values.map(\.magnitude).max() ?? 0
            guard largest > 0 else { continue }
            for (key, sum) in sums where sum.magnitude >= Double(threshold) * largest {
                let (x1, y1) = position(c.input, key % slotsIn), (x2, y2) = position(c.output, key / slotsIn)
                lines.append(
                    Line(
                        x1: x1, y1: y1, x2: x2, y2: y2, strength: sum.magnitude / largest, positive: sum.signed > 0,
                        from: index[band[c.input]! * 1_000_000 + key % slotsIn]!,
                        to: index[band[c.output]! * 1_000_000 + key / slotsIn]!))
            }
        }
        // Strongest first; ties (every connection's strongest line has strength 1) by their ends,
        // so the order does not depend on the dictionary's per-process hash seed.
        lines.sort { ($0.strength, $1.from, $1.to) > ($1.strength, $0.from, $0.to) }
        self.lines = Array(lines.prefix(maximumLines))
    }
}
