@testable import BIMT
import BIMTCompute
import Foundation
import Testing

@Suite("Neuron layouts")
struct LayoutTests {
    @Test("coordinates follow the paper's formulas")
    func coordinates() throws {
        let line = try NeuronLayout.line(neurons: 4)
        #expect(line.slotCoordinates.map(\.x) == [0.125, 0.375, 0.625, 0.875])
        let grid = try NeuronLayout.grid(neurons: 9)
        #expect(grid.slotCoordinates[5] == SIMD2(2.5 / 3, 1.5 / 3)) // i = 5: r = 1, c = 2
        let ring = try NeuronLayout.ring(neurons: 10)
        let t = 2 * Double.pi * 0.5 / 10
        #expect(abs(Double(ring.slotCoordinates[0].x) - (0.5 + 0.25 * cos(t))) < 1e-6)
        #expect(abs(Double(ring.slotCoordinates[0].y) - (0.5 + 0.25 * sin(t))) < 1e-6)
        let wide = try NeuronLayout.grid(neurons: 10, width: 5)
        #expect(wide.gridWidth == 5 && wide.slotCoordinates[7] == SIMD2(2.5 / 5, 1.5 / 2))
    }

    @Test("folded neurons share their slot")
    func folds() throws {
        let folded = try NeuronLayout.line(neurons: 6, folds: 2)
        #expect(folded.slots == 3 && folded.neuronCount == 6)
        let soa = folded.neuronCoordinatesSoA
        let expected: [Float] = [1.0 / 6, 0.5, 5.0 / 6, 1.0 / 6, 0.5, 5.0 / 6]
        #expect(Array(soa[0..<6]) == expected)
    }

    @Test("bad layouts are clear errors naming the layer")
    func badLayouts() throws {
        #expect(throws: BIMTError.invalidLayout(layer: "hidden", reason: "2 folds do not divide 7 neurons")) {
            try NeuronLayout.line(neurons: 7, folds: 2, name: "hidden")
        }
        do {
            _ = try NeuronLayout.grid(neurons: 10, name: "out")
            Issue.record("a 10-slot square grid was accepted")
        } catch let BIMTError.invalidLayout(layer, reason) {
            #expect(layer == "out" && reason.contains("square") && reason.contains("width"))
        }
        #expect(throws: BIMTError.self) { try NeuronLayout.grid(neurons: 10, width: 3) }
        #expect(throws: BIMTError.self) { try NeuronLayout.ring(neurons: 0) }
        #expect(throws: BIMTError.self) { try NeuronLayout.custom([SIMD2(.nan, 0)]) }
    }

    @Test("networks reject matrices that do not fit their layers")
    func badNetworks() throws {
        let layers = [
            NeuronLayer(name: "in", layout: try .line(neurons: 3)),
            NeuronLayer(name: "out", layout: try .line(neurons: 2)),
        ]
        do {
            _ = try SpatialNetwork(
                layers: layers,
                connections: [
                    SpatialConnection(
                        name: "fc", input: 0, output: 1, weight: ParameterView(offset: 0, rows: 3, columns: 2))
                ])
            Issue.record("a transposed weight was accepted")
        } catch let BIMTError.shapeMismatch(text) {
            #expect(text.contains("fc") && text.contains("[3, 2]") && text.contains("[2, 3]"))
        }
        #expect(throws: BIMTError.self) {
            try SpatialNetwork(layers: layers, connections: [], groups: [SwapGroup(layers: [0, 1])])
        }
    }
}
