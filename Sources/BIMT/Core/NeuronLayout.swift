import BIMTCompute
import Foundation

/// Where the neurons of one layer sit. A layout has `slots` positions; with `folds` f > 1,
/// f neurons share each slot (neuron j sits in slot j % slots) and always move together,
/// as the two concatenated token embeddings of modular addition (f = 2) or the q, k, v
/// outputs of an attention projection (f = 3).
///
/// ```
/// line:  x = (i + 0.5) / m,  y = 0
/// grid:  (x, y) = ((c + 0.5) / w, (r + 0.5) / h),  i = r*w + c   (w = h = sqrt(m) unless given)
/// ring:  (0.5, 0.5) + 0.25 (cos t, sin t),  t = 2 pi (i + 0.5) / m
/// ```
public struct NeuronLayout: Sendable, Equatable, Codable {
    /// The coordinate family: line, square grid, ring, or given coordinates.
    public enum Kind: String, Sendable, Codable { case line, grid, ring, custom }

    /// The family the coordinates come from.
    public let kind: Kind
    /// Places in the layout (m); the layer has `slots * folds` neurons.
    public let slots: Int
    /// Neurons per slot (f): neuron n sits at slot n % m, and a slot's neurons move together.
    public let folds: Int
    /// Columns of a grid layout.
    public let gridWidth: Int?
    /// The coordinates of every slot (x then y per slot).
    public let slotCoordinates: [SIMD2<Float>]

    /// Total neurons: slots x folds.
    public var neuronCount: Int { slots * folds }

    /// A line of `neurons` neurons folded `folds` ways.
    public static func line(neurons: Int, folds: Int = 1, name: String = "") throws -> NeuronLayout {
        let m = try slotCount(neurons: neurons, folds: folds, name: name)
        return NeuronLayout(
            kind: .line, slots: m, folds: folds, gridWidth: nil,
            slotCoordinates: (0..<m).map { SIMD2((Float($0) + 0.5) / Float(m), 0) })
    }

    /// A grid of `neurons` neurons: square unless `width` is given (then rows = neurons / width).
    public static func grid(neurons: Int, width: Int? = nil, folds: Int = 1, name: String = "") throws -> NeuronLayout {
        let m = try slotCount(neurons: neurons, folds: folds, name: name)
        let w: Int
        if let width {
            guard width >= 1, m % width == 0 else {
                throw BIMTError.invalidLayout(layer: name, reason: "a grid of \(m) slots cannot be \(width) wide")
            }
            w = width
        } else {
            let side = Int(Double(m).squareRoot().rounded())
            guard side * side == m else {
                throw BIMTError.invalidLayout(
                    layer: name,
                    reason:
                        "\(m) slots do not make a square grid; "
                        + "give the grid's width (e.g. width \(m % 10 == 0 ? 10 : 1))"
                )
            }
            w = side
        }
        let h = m / w
        return NeuronLayout(
            kind: .grid, slots: m, folds: folds, gridWidth: w,
            slotCoordinates: (0..<m).map {
                SIMD2((Float($0 % w) + 0.5) / Float(w), (Float($0 / w) + 0.5) / Float(h))
            })
    }

    /// A ring of radius 0.25 around (0.5, 0.5): the paper's layout of the 10 image classes.
    public static func ring(neurons: Int, folds: Int = 1, name: String = "") throws -> NeuronLayout {
        let m = try slotCount(neurons: neurons, folds: folds, name: name)
        return NeuronLayout(
            kind: .ring, slots: m, folds: folds, gridWidth: nil,
            slotCoordinates: (0..<m).map {
                let t = 2 * Double.pi * (Double($0) + 0.5) / Double(m)
                return SIMD2(Float(0.5 + 0.25 * cos(t)), Float(0.5 + 0.25 * sin(t)))
            })
    }

    /// User-given slot coordinates.
    public static func custom(_ coordinates: [SIMD2<Float>], folds: Int = 1, name: String = "") throws -> NeuronLayout {
        _ = try slotCount(neurons: coordinates.count * folds, folds: folds, name: name)
        guard coordinates.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else {
            throw BIMTError.invalidLayout(layer: name, reason: "coordinates must be finite")
        }
        return NeuronLayout(
            kind: .custom, slots: coordinates.count, folds: folds, gridWidth: nil,
            slotCoordinates: coordinates)
    }

    private static func slotCount(neurons: Int, folds: Int, name: String) throws -> Int {
        guard neurons >= 1 else {
            throw BIMTError.invalidLayout(layer: name, reason: "needs at least 1 neuron, got \(neurons)")
        }
        guard folds >= 1, neurons % folds == 0 else {
            throw BIMTError.invalidLayout(layer: name, reason: "\(folds) folds do not divide \(neurons) neurons")
        }
        return neurons / folds
    }

    /// Coordinates of every neuron (neuron j at slot j % slots), SoA: x of all, then y of all.
    public var neuronCoordinatesSoA: [Float] {
        let n = neuronCount
        return (0..<n).map { slotCoordinates[$0 % slots].x } + (0..<n).map { slotCoordinates[$0 % slots].y }
    }

    /// Slot coordinates, SoA.
    public var slotCoordinatesSoA: [Float] { slotCoordinates.map(\.x) + slotCoordinates.map(\.y) }

    /// Distance between two points under `metric`.
    public static func distance(_ a: SIMD2<Float>, _ b: SIMD2<Float>, metric: DistanceMetric) -> Double {
        let dx = Double(a.x) - Double(b.x), dy = Double(a.y) - Double(b.y)
        return metric == .manhattan ? abs(dx) + abs(dy) : (dx * dx + dy * dy).squareRoot()
    }
}
