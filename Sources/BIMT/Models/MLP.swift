import BIMTCompute
import Foundation

/// A multilayer perceptron whose parameters, gradients and AdamW moments each live in ONE
/// flat device buffer (layout: `embedding` [V, D] if any, then per layer `weight` [out, in]
/// and `bias` [out]). Forward and backward are explicit; backward accumulates into the
/// gradient buffer, which the caller zeroes.
///
/// Shapes: B = batch rows, n_l = widths[l]. x: [B, n_0] (or tokens [B, folds]).
public final class MLP: TrainableModel {
    /// The device holding the buffers.
    public let device: Device
    /// The network's shape.
    public let architecture: MLPArchitecture
    /// The neurons' positions and the connection cost on the device.
    public let geometry: SpatialGeometry
    /// Every parameter in one flat buffer.
    public let parameters: Buffer
    /// The gradient of the loss (and connection cost) with respect to `parameters`.
    public let gradients: Buffer
    /// AdamW's first moments, one per parameter.
    public let firstMoments: Buffer
    /// AdamW's second moments, one per parameter.
    public let secondMoments: Buffer
    var workspaces: [Int: Workspace] = [:]

    /// Activations for one batch size, allocated once and reused every step.
    final class Workspace {
        let rows: Int
        let activations: [Buffer] // a_l: [B, n_l]; a_0 is the (embedded) input when there is an embedding
        let preactivations: [Buffer] // z_l: [B, n_l] for l >= 1
        let gradients: [Buffer] // dz_l / da_l scratch: [B, n_l]
        let activationGradients: [Buffer]

        init(device: Device, widths: [Int], rows: Int) throws {
            self.rows = rows
            activations = try widths.map { try device.makeBuffer(count: rows * $0) }
            preactivations = try widths.map { try device.makeBuffer(count: rows * $0) }
            gradients = try widths.map { try device.makeBuffer(count: rows * $0) }
            activationGradients = try widths.map { try device.makeBuffer(count: rows * $0) }
        }
    }

    /// `costSettings` is the training cost; `relocationCostSettings` the cost swaps minimize
    /// (nil: the training cost with wf on every matrix).
    public init(
        architecture: MLPArchitecture, costSettings: CostSettings, relocationCostSettings: CostSettings? = nil,
        device: Device, swapInputs: Bool = true
    ) throws {
        self.architecture = architecture
        self.device = device
        let network = try architecture.spatialNetwork(swapInputs: swapInputs)
        geometry = try SpatialGeometry(
            network: network, settings: costSettings, relocationSettings: relocationCostSettings,
            device: device)
        let buffers = try ParameterBuffers(count: network.parameterExtent, device: device)
        (parameters, gradients, firstMoments, secondMoments) = (
            buffers.parameters, buffers.gradients, buffers.firstMoments, buffers.secondMoments
        )
    }

    /// Outputs per predicted row.
    public var outputWidth: Int { architecture.widths.last! }
    /// The token embedding of the input, if any.
    public var embedding: EmbeddingSpec? { architecture.embedding }
    /// Rows one forward pass takes at most (evaluation goes in chunks of this).
    public var maximumRows: Int { specification.maximumRows }

    /// The model's kind and architecture.
    public var specification: ModelSpec { .mlp(architecture) }

    /// Checks `data` against the architecture (see `ModelSpec.check`).
    public func check(_ data: TaskData, loss: LossKind) throws { try specification.check(data, loss: loss) }

    /// The weight matrices and the embedding table.
    public var matrixRanges: [Range<Int>] {
        network.connections.map(\.weight.range) + network.embeddingTables.map(\.range)
    }

    /// The parameters as PyTorch-named tensors.
    public func exportTensors(_ values: [Float]) -> [NamedTensor] { Self.exportTensors(values, network: network) }

    /// Reads the PyTorch-named tensors of `file` into flat parameter values, checking shapes.
    public func importTensors(from file: NamedTensors, into values: inout [Float]) throws {
        try Self.importTensors(from: file, network: network, into: &values)
    }

    /// The flat parameters `values` of an MLP over `network` as PyTorch-named tensors.
    static func exportTensors(_ values: [Float], network: SpatialNetwork) -> [NamedTensor] {
        func slice(_ v: ParameterView) -> [Float] { Array(values[v.offset..<(v.offset + v.count)]) }
        var tensors: [NamedTensor] = []
        if let table = network.embeddingTables.first {
            tensors.append(NamedTensor("embedding", shape: [table.rows, table.columns], slice(table)))
        }
        for (i, c) in network.connections.enumerated() {
            tensors.append(
                NamedTensor("layers.\(i).weight", shape: [c.weight.rows, c.weight.columns], slice(c.weight)))
            tensors.append(NamedTensor("layers.\(i).bias", shape: [c.bias!.count], slice(c.bias!)))
        }
        return tensors
    }

    /// Reads the PyTorch-named tensors of an MLP over `network` into its flat parameters.
    static func importTensors(from file: NamedTensors, network: SpatialNetwork, into values: inout [Float]) throws {
        if let table = network.embeddingTables.first {
            try file.read("embedding", shape: [table.rows, table.columns], into: &values, at: table.offset)
        }
        for (i, c) in network.connections.enumerated() {
            try file.read(
                "layers.\(i).weight", shape: [c.weight.rows, c.weight.columns], into: &values,
                at: c.weight.offset)
            try file.read("layers.\(i).bias", shape: [c.bias!.count], into: &values, at: c.bias!.offset)
        }
    }

    /// PyTorch's default initialization (Linear: U(±1/sqrt(fan_in)); Embedding: N(0, 1)).
    public func initialize(seed: UInt64) throws {
        var values = network.initialParameters(seed: seed)
        if let table = network.embeddingTables.first {
            var generator = SeededGenerator(seed: seed ^ 0x5EED_E3B0)
            for i in 0..<table.count {
                // Box-Muller: a standard normal from two uniforms.
                let u1 = Float.random(in: Float.ulpOfOne..<1, using: &generator),
                    u2 = Float.random(in: 0..<1, using: &generator)
                values[table.offset + i] = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            }
        }
        try device.write(values, to: parameters.whole)
    }

    func workspace(rows: Int) throws -> Workspace {
        if let workspace = workspaces[rows] { return workspace }
        let workspace = try Workspace(device: device, widths: architecture.widths, rows: rows)
        workspaces[rows] = workspace
        return workspace
    }

    func view(_ v: ParameterView, in buffer: Buffer) -> BufferSlice { buffer.slice(offset: v.offset, count: v.count) }

    /// Runs the network on `rows` examples; returns the output slice [rows, n_L] (valid
    /// until the next call with the same row count).
    public func forward(input: BufferSlice, rows: Int) throws -> BufferSlice {
        let ws = try workspace(rows: rows)
        let widths = architecture.widths
        var x = input
        if let e = architecture.embedding, let table = network.embeddingTables.first {
            try device.embeddingForward(
                tokens: input, table: view(table, in: parameters), rows: rows, folds: e.folds,
                dimension: e.dimension, output: ws.activations[0].whole)
            x = ws.activations[0].whole
        } else {
            guard input.count == rows * widths[0] else {
                throw BIMTError.shapeMismatch("MLP input holds \(input.count) values for [\(rows), \(widths[0])]")
            }
        }
        for (l, c) in network.connections.enumerated() {
            let z = ws.preactivations[l + 1].whole
            try device.linear(x, weight: c.weight, bias: c.bias, parameters: parameters, rows: rows, into: z)
            if l == network.connections.count - 1 { return z }
            try device.activationForward(architecture.activation, input: z, output: ws.activations[l + 1].whole)
            x = ws.activations[l + 1].whole
        }
        preconditionFailure("an MLP has at least one connection")
    }

    /// Backward pass, the reverse of `forward`, given dLoss/dOutput in `outputGradient`
    /// ([rows, n_L]); accumulates every parameter's gradient into `gradients`.
    public func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice) throws {
        try backward(input: input, rows: rows, outputGradient: outputGradient) { _ in }
    }

    /// Layer by layer from the last: after connection l, its weights, its bias and every
    /// parameter after them are final.
    public func backward(
        input: BufferSlice, rows: Int, outputGradient: BufferSlice, gradientsReady: (Int) throws -> Void
    ) throws {
        try backwardLayers(input: input, rows: rows, outputGradient: outputGradient, gradientsReady: gradientsReady)
        try gradientsReady(0)
    }

    /// The flat offset from which gradients are final after each connection's backward step.
    lazy var readyOffsets: [Int: Int] = {
        let order = Array(stride(from: network.connections.count - 1, through: 0, by: -1))
        let marks = GradientWatermark.offsets(
            total: parameterCount,
            stages: order.map { l in
                let c = network.connections[l]
                return [c.weight.range] + (c.bias.map { [$0.range] } ?? [])
            })
        return Dictionary(uniqueKeysWithValues: zip(order, marks))
    }()

    func backwardLayers(
        input: BufferSlice, rows: Int, outputGradient: BufferSlice, gradientsReady: (Int) throws -> Void
    ) throws {
        let ws = try workspace(rows: rows)
        var dz = outputGradient
        for l in stride(from: network.connections.count - 1, through: 0, by: -1) {
            let c = network.connections[l]
            let x = (l == 0 && architecture.embedding == nil) ? input : ws.activations[l].whole
            // dW += dz^T x;  db += sum_rows dz;  dx = dz W (not needed for real-valued inputs)
            let firstOnRealInputs = l == 0 && architecture.embedding == nil
            let dx = ws.activationGradients[l].whole
            try device.linearBackward(
                x, weight: c.weight, bias: c.bias, parameters: parameters, gradients: gradients, rows: rows,
                outputGradient: dz, inputGradient: firstOnRealInputs ? nil : dx)
            if let ready = readyOffsets[l] { try gradientsReady(ready) }
            if firstOnRealInputs { break }
            if l == 0 {
                let e = architecture.embedding!, table = network.embeddingTables[0]
                try device.embeddingBackward(
                    tokens: input, outputGradient: dx, rows: rows, folds: e.folds, dimension: e.dimension,
                    vocabulary: e.vocabulary, tableGradient: view(table, in: gradients))
                break
            }
            // dz_{l} = dx * f'(z_l)
            let next = ws.gradients[l].whole
            try device.fill(next, value: 0)
            try device.activationBackward(
                architecture.activation, input: ws.preactivations[l].whole,
                outputGradient: dx, inputGradient: next)
            dz = next
        }
    }
}
