import BIMTCompute
import Foundation

/// A GPT-style decoder trained with BIMT (docs/METHOD.md, "Transformers"), all parameters in
/// one flat device buffer, in this order (PyTorch names and shapes; `pos` only with
/// positional embeddings, the LayerNorm tensors only with LayerNorm):
///
/// ```
/// embed.weight     [vocabulary, width]  (tokens; nn.Embedding)  or  [width, features] + embed.bias (nn.Linear)
/// pos              [context, width]
/// blocks.l.ln1.weight / .bias [width]
/// blocks.l.attn.qkv.weight [3 width, width], .bias [3 width]   (q, k, v stacked; head h = dims h*hd ..< (h+1)*hd of each)
/// blocks.l.attn.proj.weight [width, width], .bias [width]
/// blocks.l.ln2.weight / .bias [width]
/// blocks.l.mlp.fc.weight [r width, width], .bias;  blocks.l.mlp.proj.weight [width, r width], .bias
/// ln_f.weight / .bias [width];  head.weight [outputs, width], head.bias [outputs]
/// ```
///
/// Spatially every linear map is a matrix between line layouts. The residual stream is one
/// swap group of 2 * layers + 1 layers (one per point where the stream is read or written,
/// drawn bottom to top), so one permutation moves every matrix that reads or writes it,
/// the LayerNorm gains and biases and the embeddings. Each block's q/k/v layer (folded 3
/// ways: q_i, k_i and v_i share slot i) and its attention-output layer form a group that
/// moves whole heads and then dimensions within a head. The input and output layers stay.
public final class GPT: TrainableModel {
    public let architecture: TransformerArchitecture
    public let device: Device
    public let geometry: SpatialGeometry
    public let parameters: Buffer
    public let gradients: Buffer
    public let firstMoments: Buffer
    public let secondMoments: Buffer
    public var outputWidth: Int { architecture.scoredOutputs }
    public var embedding: EmbeddingSpec? { nil }
    /// Sequences per evaluation chunk: about 8k positions (charlm's evaluation workspace is
    /// then about 200 MB: every layer's activations are kept for a backward).
    public var maximumRows: Int { max(1, 8192 / architecture.context) }
    let views: Views
    var workspaces: [Int: Workspace] = [:]

    /// Where each tensor lives in the flat buffer.
    struct Views {
        struct Block {
            let ln1Gain, ln1Bias: ParameterView?
            let qkvWeight, qkvBias, projWeight, projBias: ParameterView
            let ln2Gain, ln2Bias: ParameterView?
            let fcWeight, fcBias, mlpProjWeight, mlpProjBias: ParameterView
        }
        let embedWeight: ParameterView
        let embedBias: ParameterView?
        let positions: ParameterView?
        let blocks: [Block]
        let finalGain, finalBias: ParameterView?
        let headWeight, headBias: ParameterView
        /// The rows of the head the model predicts with (the first `scoredOutputs`).
        let scoredHeadWeight, scoredHeadBias: ParameterView
        let count: Int

        init(_ a: TransformerArchitecture) {
            var offset = 0
            func take(_ rows: Int, _ columns: Int = 1) -> ParameterView {
                defer { offset += rows * columns }
                return ParameterView(offset: offset, rows: rows, columns: columns)
            }
            let d = a.width, hidden = a.mlpRatio * a.width
            if let v = a.vocabulary {
                embedWeight = take(v, d)
                embedBias = nil
            } else {
                embedWeight = take(d, a.inputWidth)
                embedBias = take(d)
            }
            positions = a.positionalEmbedding ? take(a.context, d) : nil
            func norm() -> ParameterView? { a.layerNorm ? take(d) : nil }
            blocks = (0..<a.layers).map { _ in
                Block(ln1Gain: norm(), ln1Bias: norm(), qkvWeight: take(3 * d, d), qkvBias: take(3 * d),
                      projWeight: take(d, d), projBias: take(d), ln2Gain: norm(), ln2Bias: norm(),
                      fcWeight: take(hidden, d), fcBias: take(hidden), mlpProjWeight: take(d, hidden), mlpProjBias: take(d))
            }
            finalGain = norm()
            finalBias = norm()
            headWeight = take(a.outputs, d)
            headBias = take(a.outputs)
            scoredHeadWeight = ParameterView(offset: headWeight.offset, rows: a.scoredOutputs, columns: d)
            scoredHeadBias = ParameterView(offset: headBias.offset, rows: a.scoredOutputs)
            count = offset
        }

        /// Every tensor with its PyTorch name and shape, in buffer order.
        func named(_ a: TransformerArchitecture) -> [(String, ParameterView, [Int])] {
            func shape(_ v: ParameterView) -> [Int] { v.columns == 1 ? [v.rows] : [v.rows, v.columns] }
            var list: [(String, ParameterView, [Int])] = [("embed.weight", embedWeight, shape(embedWeight))]
            if let embedBias { list.append(("embed.bias", embedBias, shape(embedBias))) }
            if let positions { list.append(("pos", positions, shape(positions))) }
            for (l, b) in blocks.enumerated() {
                let tensors: [(String, ParameterView?)] = [
                    ("ln1.weight", b.ln1Gain), ("ln1.bias", b.ln1Bias), ("attn.qkv.weight", b.qkvWeight),
                    ("attn.qkv.bias", b.qkvBias), ("attn.proj.weight", b.projWeight), ("attn.proj.bias", b.projBias),
                    ("ln2.weight", b.ln2Gain), ("ln2.bias", b.ln2Bias), ("mlp.fc.weight", b.fcWeight),
                    ("mlp.fc.bias", b.fcBias), ("mlp.proj.weight", b.mlpProjWeight), ("mlp.proj.bias", b.mlpProjBias)]
                for case let (name, v?) in tensors { list.append(("blocks.\(l).\(name)", v, shape(v))) }
            }
            for case let (name, v?) in [("ln_f.weight", finalGain), ("ln_f.bias", finalBias)] { list.append((name, v, shape(v))) }
            list += [("head.weight", headWeight, shape(headWeight)), ("head.bias", headBias, shape(headBias))]
            return list
        }
    }

    /// Activations for one (sequences, length), sized once and reused by every step.
    final class Workspace {
        let rows: Int, length: Int
        let residual: [Buffer]                 // 2 * layers + 1 of [N, d]
        let norm1: [Buffer], norm2: [Buffer]   // LN outputs [N, d]
        let statistics1: [Buffer], statistics2: [Buffer]  // [2N]: mean, rstd
        let qkv: [Buffer]                      // [N, 3d]
        let probabilities: [Buffer]            // [B, H, L, L]
        let attention: [Buffer]                // [N, d]
        let hiddenPre: [Buffer], hiddenPost: [Buffer]     // [N, r d]
        let finalNorm: Buffer, finalStatistics: Buffer, logits: Buffer
        /// The head's input rows at the predicted positions [rows * predicted, d], and their
        /// row indices (nil: every position is predicted, the head reads its input in place).
        let selected: Buffer?, selectedRows: [Int]?
        // Backward scratch.
        let dResidual: Buffer, dNorm: Buffer, dQKV: Buffer, dProbabilities: Buffer, dScores: Buffer
        let dAttention: Buffer, dHiddenPost: Buffer, dHiddenPre: Buffer

        init(device: Device, architecture a: TransformerArchitecture, rows: Int, length: Int) throws {
            self.rows = rows
            self.length = length
            let n = rows * length, d = a.width, hidden = a.mlpRatio * d, scores = rows * a.heads * length * length
            func make(_ count: Int) throws -> Buffer { try device.makeBuffer(count: count) }
            func perLayer(_ count: Int) throws -> [Buffer] { try (0..<a.layers).map { _ in try make(count) } }
            func normLayer(_ count: Int) throws -> [Buffer] { a.layerNorm ? try perLayer(count) : [] }
            residual = try (0...(2 * a.layers)).map { _ in try make(n * d) }
            norm1 = try normLayer(n * d); norm2 = try normLayer(n * d)
            statistics1 = try normLayer(2 * n); statistics2 = try normLayer(2 * n)
            qkv = try perLayer(3 * n * d)
            probabilities = try perLayer(scores)
            attention = try perLayer(n * d)
            hiddenPre = try perLayer(n * hidden); hiddenPost = try perLayer(n * hidden)
            finalNorm = try make(a.layerNorm ? n * d : 1); finalStatistics = try make(a.layerNorm ? 2 * n : 1)
            let positions = a.predictedPositions(length: length)
            if positions.count == length {
                (selected, selectedRows) = (nil, nil)
            } else {
                selectedRows = (0..<rows).flatMap { r in positions.map { r * length + $0 } }
                selected = try make(rows * positions.count * d)
            }
            logits = try make(rows * positions.count * a.scoredOutputs)
            dResidual = try make(n * d); dNorm = try make(n * d); dQKV = try make(3 * n * d)
            dProbabilities = try make(scores); dScores = try make(scores)
            dAttention = try make(n * d); dHiddenPost = try make(n * hidden); dHiddenPre = try make(n * hidden)
        }
    }

    /// `costSettings` is the training cost; `relocationCostSettings` the cost swaps minimize
    /// (nil: the training cost with wf on every matrix).
    public init(architecture: TransformerArchitecture, costSettings: CostSettings, relocationCostSettings: CostSettings? = nil,
                device: Device) throws {
        try architecture.validate()
        self.architecture = architecture
        self.device = device
        views = Views(architecture)
        geometry = try SpatialGeometry(network: try Self.spatialNetwork(architecture, views: views), settings: costSettings,
                                       relocationSettings: relocationCostSettings, device: device)
        let buffers = try ParameterBuffers(count: views.count, device: device)
        (parameters, gradients, firstMoments, secondMoments) = (buffers.parameters, buffers.gradients, buffers.firstMoments, buffers.secondMoments)
    }

    /// Layer index of residual point i (0: after the embedding; 2l+1: after block l's
    /// attention; 2l+2: after its MLP).
    static func residualLayer(_ i: Int) -> Int { i == 0 ? 1 : 2 + 5 * ((i - 1) / 2) + ((i - 1) % 2 == 0 ? 2 : 4) }

    static func spatialNetwork(_ a: TransformerArchitecture, views: Views) throws -> SpatialNetwork {
        let d = a.width, hidden = a.mlpRatio * d
        var layers = [NeuronLayer(name: a.vocabulary != nil ? "tokens" : "inputs", layout: try .line(neurons: a.inputWidth, name: "inputs")),
                      NeuronLayer(name: "residual 0", layout: try .line(neurons: d, name: "residual"))]
        var connections: [SpatialConnection] = []
        var parameters: [NeuronParameter] = views.positions.map { [NeuronParameter(name: "pos", layer: 1, view: $0, alongRows: false)] } ?? []
        var groups = [SwapGroup(layers: [0], swappable: false)]
        if a.vocabulary != nil {
            // nn.Embedding's [vocabulary, width]: a matrix whose rows are the token layer's neurons.
            connections.append(SpatialConnection(name: "embed", input: 1, output: 0, weight: views.embedWeight))
        } else {
            connections.append(SpatialConnection(name: "embed", input: 0, output: 1, weight: views.embedWeight, bias: views.embedBias))
        }
        var attentionGroups: [SwapGroup] = []
        for (l, b) in views.blocks.enumerated() {
            let qkv = layers.count, attention = qkv + 1, middle = qkv + 2, hiddenLayer = qkv + 3, after = qkv + 4
            let before = residualLayer(2 * l)
            layers += [NeuronLayer(name: "block \(l) q/k/v", layout: try .line(neurons: 3 * d, folds: 3, name: "block \(l) q/k/v")),
                       NeuronLayer(name: "block \(l) attention", layout: try .line(neurons: d, name: "block \(l) attention")),
                       NeuronLayer(name: "residual \(2 * l + 1)", layout: try .line(neurons: d, name: "residual")),
                       NeuronLayer(name: "block \(l) mlp", layout: try .line(neurons: hidden, name: "block \(l) mlp")),
                       NeuronLayer(name: "residual \(2 * l + 2)", layout: try .line(neurons: d, name: "residual"))]
            connections += [
                SpatialConnection(name: "blocks.\(l).attn.qkv", input: before, output: qkv, weight: b.qkvWeight, bias: b.qkvBias),
                SpatialConnection(name: "blocks.\(l).attn.proj", input: attention, output: middle, weight: b.projWeight, bias: b.projBias),
                SpatialConnection(name: "blocks.\(l).mlp.fc", input: middle, output: hiddenLayer, weight: b.fcWeight, bias: b.fcBias),
                SpatialConnection(name: "blocks.\(l).mlp.proj", input: hiddenLayer, output: after, weight: b.mlpProjWeight,
                                  bias: b.mlpProjBias),
            ]
            for case let (name, layer, view?) in [("ln1.weight", before, b.ln1Gain), ("ln1.bias", before, b.ln1Bias),
                                                  ("ln2.weight", middle, b.ln2Gain), ("ln2.bias", middle, b.ln2Bias)] {
                parameters.append(NeuronParameter(name: "blocks.\(l).\(name)", layer: layer, view: view))
            }
            attentionGroups.append(SwapGroup(layers: [qkv, attention], blockSize: a.heads > 1 ? a.headDimension : nil))
        }
        let last = residualLayer(2 * a.layers), output = layers.count
        layers.append(NeuronLayer(name: "output", layout: try .line(neurons: a.outputs, name: "output")))
        connections.append(SpatialConnection(name: "head", input: last, output: output, weight: views.headWeight, bias: views.headBias))
        for case let (name, view?) in [("ln_f.weight", views.finalGain), ("ln_f.bias", views.finalBias)] {
            parameters.append(NeuronParameter(name: name, layer: last, view: view))
        }
        groups.append(SwapGroup(layers: (0...(2 * a.layers)).map(residualLayer)))
        groups += attentionGroups
        groups.append(SwapGroup(layers: [output], swappable: false))
        return try SpatialNetwork(layers: layers, connections: connections, neuronParameters: parameters,
                                  embeddingTables: views.positions.map { [$0] } ?? [], groups: groups)
    }

    /// nanoGPT's initialization: N(0, 0.02) for every matrix and embedding (the residual
    /// projections N(0, 0.02 / sqrt(2 layers))), zero biases, unit LayerNorm gains.
    public func initialize(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var values = [Float](repeating: 0, count: views.count)
        func normal(_ v: ParameterView, _ std: Float) {
            for i in v.offset..<(v.offset + v.count) { values[i] = std * Tasks.normal(&generator) }
        }
        func ones(_ v: ParameterView?) { if let v { for i in v.offset..<(v.offset + v.count) { values[i] = 1 } } }
        let projection = 0.02 / Float(2 * architecture.layers).squareRoot()
        normal(views.embedWeight, 0.02)
        if let positions = views.positions { normal(positions, 0.02) }
        for b in views.blocks {
            ones(b.ln1Gain); ones(b.ln2Gain)
            normal(b.qkvWeight, 0.02); normal(b.projWeight, projection)
            normal(b.fcWeight, 0.02); normal(b.mlpProjWeight, projection)
        }
        ones(views.finalGain)
        normal(views.headWeight, 0.02)
        try device.write(values, to: parameters.whole)
    }

    // MARK: Forward and backward

    /// Sequence length of an input of `count` values for `rows` sequences.
    func sequenceLength(_ count: Int, rows: Int) throws -> Int {
        let perPosition = architecture.valuesPerPosition
        guard rows >= 1, count % (rows * perPosition) == 0 else {
            throw BIMTError.shapeMismatch("transformer input holds \(count) values, not \(rows) sequences of \(perPosition)-value positions")
        }
        let length = count / (rows * perPosition)
        guard length >= 1, length <= architecture.context else {
            throw BIMTError.shapeMismatch(
                "sequences of \(length) positions are longer than the model's context of \(architecture.context); "
                    + "shorten them or train a model with a longer context")
        }
        return length
    }

    func workspace(rows: Int, length: Int) throws -> Workspace {
        let key = rows * (architecture.context + 1) + length
        if let workspace = workspaces[key] { return workspace }
        let workspace = try Workspace(device: device, architecture: architecture, rows: rows, length: length)
        workspaces[key] = workspace
        return workspace
    }

    func slice(_ v: ParameterView, _ buffer: Buffer) -> BufferSlice { buffer.slice(offset: v.offset, count: v.count) }

    /// From `offset` to the end of `buffer` (a strided GEMM operand).
    func tail(_ buffer: Buffer, _ offset: Int) -> BufferSlice { buffer.slice(offset: offset, count: buffer.count - offset) }

    /// LayerNorm of x into `output`, or x itself without LayerNorm: the buffer the next
    /// layer reads.
    func layerNorm(_ x: Buffer, gain: ParameterView?, bias: ParameterView?, rows: Int, output: [Buffer], layer: Int,
                   statistics: [Buffer]) throws -> Buffer {
        guard let gain, let bias else { return x }
        try layerNorm(x, gain: gain, bias: bias, rows: rows, output: output[layer], statistics: statistics[layer])
        return output[layer]
    }

    func layerNorm(_ x: Buffer, gain: ParameterView, bias: ParameterView, rows: Int, output: Buffer, statistics: Buffer) throws {
        try device.layerNormForward(x.whole, gamma: slice(gain, parameters), beta: slice(bias, parameters), rows: rows,
                                    columns: architecture.width, output: output.whole,
                                    mean: statistics.slice(offset: 0, count: rows), rstd: statistics.slice(offset: rows, count: rows))
    }

    func layerNormBackward(_ x: Buffer, gain: ParameterView, bias: ParameterView, rows: Int, statistics: Buffer,
                           outputGradient: Buffer, inputGradient: Buffer) throws {
        try device.layerNormBackward(x.whole, gamma: slice(gain, parameters), outputGradient: outputGradient.whole,
                                     mean: statistics.slice(offset: 0, count: rows), rstd: statistics.slice(offset: rows, count: rows),
                                     rows: rows, columns: architecture.width, inputGradient: inputGradient.whole,
                                     gammaGradient: slice(gain, gradients), betaGradient: slice(bias, gradients))
    }

    func linear(_ x: BufferSlice, _ weight: ParameterView, _ bias: ParameterView?, rows: Int, into y: BufferSlice,
                accumulate: Bool = false) throws {
        try device.linear(x, weight: weight, bias: bias, parameters: parameters, rows: rows, into: y, accumulate: accumulate)
    }

    func linearBackward(_ x: BufferSlice, _ weight: ParameterView, _ bias: ParameterView?, rows: Int, outputGradient dy: BufferSlice,
                        inputGradient dx: BufferSlice?, accumulateInput: Bool = false) throws {
        try device.linearBackward(x, weight: weight, bias: bias, parameters: parameters, gradients: gradients, rows: rows,
                                  outputGradient: dy, inputGradient: dx, accumulateInput: accumulateInput)
    }

    /// The backward of a linear map that reads `x` through an optional LayerNorm (`normed` is
    /// what the map read): adds dLoss/dx into `dR`, through the LayerNorm's backward (dNorm
    /// as scratch) or directly.
    func normedLinearBackward(_ x: Buffer, normed: Buffer, gain: ParameterView?, bias: ParameterView?, statistics: Buffer?,
                              weight: ParameterView, weightBias: ParameterView?, rows: Int, outputGradient dy: BufferSlice,
                              ws: Workspace) throws {
        guard let gain, let bias, let statistics else {
            try linearBackward(x.whole, weight, weightBias, rows: rows, outputGradient: dy, inputGradient: ws.dResidual.whole,
                               accumulateInput: true)
            return
        }
        try linearBackward(normed.whole, weight, weightBias, rows: rows, outputGradient: dy, inputGradient: ws.dNorm.whole)
        try layerNormBackward(x, gain: gain, bias: bias, rows: rows, statistics: statistics, outputGradient: ws.dNorm,
                              inputGradient: ws.dResidual)
    }

    /// A strided-batched GEMM over the sequences of the batch for one head.
    func headProduct(_ ws: Workspace, m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1,
                     a: (Buffer, Int, Int, Int), b: (Buffer, Int, Int, Int), c: (Buffer, Int, Int, Int)) throws {
        // Each operand: (buffer, offset, leading dimension, stride between sequences).
        try device.gemm(GemmOperation(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha,
                                      lda: a.2, ldb: b.2, ldc: c.2, batchCount: ws.rows, strideA: a.3, strideB: b.3, strideC: c.3),
                        a: tail(a.0, a.1), b: tail(b.0, b.1), c: tail(c.0, c.1))
    }

    func attentionForward(_ ws: Workspace, layer l: Int) throws {
        let d = architecture.width, h = architecture.heads, hd = architecture.headDimension, length = ws.length
        let scale = 1 / Float(hd).squareRoot(), qkv = ws.qkv[l], p = ws.probabilities[l]
        let sequence = length * 3 * d, scores = h * length * length
        for head in 0..<h {
            // S = Q K^T / sqrt(hd)
            try headProduct(ws, m: length, n: length, k: hd, transposeB: true, alpha: scale,
                            a: (qkv, head * hd, 3 * d, sequence), b: (qkv, d + head * hd, 3 * d, sequence),
                            c: (p, head * length * length, length, scores))
        }
        try device.softmaxCausal(p.whole, output: p.whole, rows: ws.rows * h * length, length: length)
        for head in 0..<h {
            // Y_h = P V_h
            try headProduct(ws, m: length, n: hd, k: length, a: (p, head * length * length, length, scores),
                            b: (qkv, 2 * d + head * hd, 3 * d, sequence), c: (ws.attention[l], head * hd, d, length * d))
        }
    }

    /// dQKV from dY (ws.dAttention).
    func attentionBackward(_ ws: Workspace, layer l: Int) throws {
        let d = architecture.width, h = architecture.heads, hd = architecture.headDimension, length = ws.length
        let scale = 1 / Float(hd).squareRoot(), qkv = ws.qkv[l], p = ws.probabilities[l]
        let sequence = length * 3 * d, scores = h * length * length
        for head in 0..<h {
            // dP = dY_h V_h^T;  dV_h = P^T dY_h
            try headProduct(ws, m: length, n: length, k: hd, transposeB: true, a: (ws.dAttention, head * hd, d, length * d),
                            b: (qkv, 2 * d + head * hd, 3 * d, sequence), c: (ws.dProbabilities, head * length * length, length, scores))
            try headProduct(ws, m: length, n: hd, k: length, transposeA: true, a: (p, head * length * length, length, scores),
                            b: (ws.dAttention, head * hd, d, length * d), c: (ws.dQKV, 2 * d + head * hd, 3 * d, sequence))
        }
        try device.softmaxBackward(output: p.whole, outputGradient: ws.dProbabilities.whole, rows: ws.rows * h * length,
                                   columns: length, inputGradient: ws.dScores.whole)
        for head in 0..<h {
            // dQ_h = dS K_h / sqrt(hd);  dK_h = dS^T Q_h / sqrt(hd)
            try headProduct(ws, m: length, n: hd, k: length, alpha: scale, a: (ws.dScores, head * length * length, length, scores),
                            b: (qkv, d + head * hd, 3 * d, sequence), c: (ws.dQKV, head * hd, 3 * d, sequence))
            try headProduct(ws, m: length, n: hd, k: length, transposeA: true, alpha: scale,
                            a: (ws.dScores, head * length * length, length, scores),
                            b: (qkv, head * hd, 3 * d, sequence), c: (ws.dQKV, d + head * hd, 3 * d, sequence))
        }
    }

    /// Logits (or regression outputs) [rows * predicted positions, scored outputs] at the
    /// predicted positions of each sequence (every position, the last, or every s-th).
    public func forward(input: BufferSlice, rows: Int) throws -> BufferSlice {
        let a = architecture, length = try sequenceLength(input.count, rows: rows)
        let ws = try workspace(rows: rows, length: length), n = rows * length, d = a.width
        let x0 = ws.residual[0].whole
        if a.vocabulary != nil {
            try device.embeddingForward(tokens: input, table: slice(views.embedWeight, parameters), rows: rows, folds: length,
                                        dimension: d, output: x0)
        } else {
            try linear(input, views.embedWeight, views.embedBias, rows: n, into: x0)
        }
        if let positions = views.positions {
            try device.addBias(parameters.slice(offset: positions.offset, count: length * d), to: x0, rows: rows, columns: length * d)
        }
        for (l, b) in views.blocks.enumerated() {
            let x = ws.residual[2 * l], middle = ws.residual[2 * l + 1], after = ws.residual[2 * l + 2]
            let normed1 = try layerNorm(x, gain: b.ln1Gain, bias: b.ln1Bias, rows: n, output: ws.norm1, layer: l, statistics: ws.statistics1)
            try linear(normed1.whole, b.qkvWeight, b.qkvBias, rows: n, into: ws.qkv[l].whole)
            try attentionForward(ws, layer: l)
            try device.copy(x.whole, to: middle.whole)
            try linear(ws.attention[l].whole, b.projWeight, b.projBias, rows: n, into: middle.whole, accumulate: true)
            let normed2 = try layerNorm(middle, gain: b.ln2Gain, bias: b.ln2Bias, rows: n, output: ws.norm2, layer: l,
                                        statistics: ws.statistics2)
            try linear(normed2.whole, b.fcWeight, b.fcBias, rows: n, into: ws.hiddenPre[l].whole)
            try device.activationForward(.gelu, input: ws.hiddenPre[l].whole, output: ws.hiddenPost[l].whole)
            try device.copy(middle.whole, to: after.whole)
            try linear(ws.hiddenPost[l].whole, b.mlpProjWeight, b.mlpProjBias, rows: n, into: after.whole, accumulate: true)
        }
        let final = try headInput(ws)
        let head = try headRows(ws, final)
        try linear(head.input, views.scoredHeadWeight, views.scoredHeadBias, rows: head.rows, into: ws.logits.whole)
        return ws.logits.whole
    }

    /// The final LayerNorm's output, or the last residual point without LayerNorm.
    func headInput(_ ws: Workspace) throws -> Buffer {
        let last = ws.residual[2 * architecture.layers]
        guard let gain = views.finalGain, let bias = views.finalBias else { return last }
        try layerNorm(last, gain: gain, bias: bias, rows: ws.rows * ws.length, output: ws.finalNorm, statistics: ws.finalStatistics)
        return ws.finalNorm
    }

    /// What the head reads: `final` in place when every position is predicted, else its
    /// rows at the predicted positions gathered into `ws.selected`.
    func headRows(_ ws: Workspace, _ final: Buffer) throws -> (input: BufferSlice, rows: Int) {
        guard let selected = ws.selected, let indices = ws.selectedRows else { return (final.whole, ws.rows * ws.length) }
        try device.gatherRows(source: final.whole, columns: architecture.width, indices: indices, into: selected.whole)
        return (selected.whole, indices.count)
    }

    /// Accumulates the gradient of every parameter given dLoss/dOutput (after `forward` on the
    /// same input), in the reverse order of `forward`.
    public func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice) throws {
        let a = architecture, length = try sequenceLength(input.count, rows: rows)
        let ws = try workspace(rows: rows, length: length), n = rows * length, d = a.width
        let dR = ws.dResidual
        // Head: dFinal at the predicted rows (zero elsewhere), into dNorm with a final
        // LayerNorm, else straight into the residual gradient.
        let dFinal = views.finalGain != nil ? ws.dNorm : dR
        let final = views.finalGain != nil ? ws.finalNorm : ws.residual[2 * a.layers]
        if let selected = ws.selected, let indices = ws.selectedRows {
            try linearBackward(selected.whole, views.scoredHeadWeight, views.scoredHeadBias, rows: indices.count,
                               outputGradient: outputGradient, inputGradient: nil)
            // The predicted rows sit at a fixed stride in every sequence: one strided GEMM
            // per sequence writes their gradients in place.
            let positions = a.predictedPositions(length: length), step = positions.count > 1 ? positions[1] - positions[0] : 1
            try device.fill(dFinal.whole, value: 0)
            try device.gemm(GemmOperation(m: positions.count, n: d, k: a.scoredOutputs, ldc: step * d, batchCount: rows,
                                          strideA: positions.count * a.scoredOutputs, strideB: 0, strideC: length * d),
                            a: outputGradient, b: slice(views.scoredHeadWeight, parameters), c: tail(dFinal, positions[0] * d))
        } else {
            try linearBackward(final.whole, views.scoredHeadWeight, views.scoredHeadBias, rows: n, outputGradient: outputGradient,
                               inputGradient: dFinal.whole)
        }
        if let gain = views.finalGain, let bias = views.finalBias {
            try device.fill(dR.whole, value: 0)
            try layerNormBackward(ws.residual[2 * a.layers], gain: gain, bias: bias, rows: n, statistics: ws.finalStatistics,
                                  outputGradient: ws.dNorm, inputGradient: dR)
        }
        for l in stride(from: a.layers - 1, through: 0, by: -1) {
            let b = views.blocks[l], middle = ws.residual[2 * l + 1], x = ws.residual[2 * l]
            // MLP: after = middle + proj(gelu(fc(ln2(middle)))).
            try linearBackward(ws.hiddenPost[l].whole, b.mlpProjWeight, b.mlpProjBias, rows: n, outputGradient: dR.whole,
                               inputGradient: ws.dHiddenPost.whole)
            try device.fill(ws.dHiddenPre.whole, value: 0)
            try device.activationBackward(.gelu, input: ws.hiddenPre[l].whole, outputGradient: ws.dHiddenPost.whole,
                                          inputGradient: ws.dHiddenPre.whole)
            try normedLinearBackward(middle, normed: a.layerNorm ? ws.norm2[l] : middle, gain: b.ln2Gain, bias: b.ln2Bias,
                                     statistics: a.layerNorm ? ws.statistics2[l] : nil, weight: b.fcWeight, weightBias: b.fcBias,
                                     rows: n, outputGradient: ws.dHiddenPre.whole, ws: ws)
            // Attention: middle = x + proj(attention(ln1(x))).
            try linearBackward(ws.attention[l].whole, b.projWeight, b.projBias, rows: n, outputGradient: dR.whole,
                               inputGradient: ws.dAttention.whole)
            try attentionBackward(ws, layer: l)
            try normedLinearBackward(x, normed: a.layerNorm ? ws.norm1[l] : x, gain: b.ln1Gain, bias: b.ln1Bias,
                                     statistics: a.layerNorm ? ws.statistics1[l] : nil, weight: b.qkvWeight, weightBias: b.qkvBias,
                                     rows: n, outputGradient: ws.dQKV.whole, ws: ws)
        }
        if let positions = views.positions {
            try device.sumColumns(dR.whole, rows: rows, columns: length * d,
                                  into: gradients.slice(offset: positions.offset, count: length * d), accumulate: true)
        }
        if let vocabulary = a.vocabulary {
            try device.embeddingBackward(tokens: input, outputGradient: dR.whole, rows: rows, folds: length, dimension: d,
                                         vocabulary: vocabulary, tableGradient: slice(views.embedWeight, gradients))
        } else {
            try linearBackward(input, views.embedWeight, views.embedBias, rows: n, outputGradient: dR.whole, inputGradient: nil)
        }
    }

    // MARK: Checkpoints

    public func exportTensors(_ values: [Float]) -> [SafeTensors.Tensor] {
        views.named(architecture).map { name, v, shape in .float32(name, shape: shape, Array(values[v.offset..<(v.offset + v.count)])) }
    }

    public func importTensors(from file: SafeTensors, into values: inout [Float]) throws {
        for (name, v, shape) in views.named(architecture) {
            try importTensor(file, name, shape: shape, into: &values, at: v.offset)
        }
    }
}
