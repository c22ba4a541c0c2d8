import BIMTCompute
import Foundation

/// A GPT-style decoder trained with BIMT (`../shared/BIMT.md` section 5), all parameters in
/// one flat device buffer, in this order (PyTorch names and shapes):
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
    public var outputWidth: Int { architecture.outputs }
    public var embedding: EmbeddingSpec? { nil }
    /// Sequences per evaluation chunk: about 8k positions (charlm's evaluation workspace is
    /// then about 200 MB: every layer's activations are kept for a backward).
    public var maximumRows: Int { max(1, 8192 / architecture.context) }
    let views: Views
    var workspaces: [Int: Workspace] = [:]

    /// Where each tensor lives in the flat buffer.
    struct Views {
        struct Block {
            let ln1Gain, ln1Bias, qkvWeight, qkvBias, projWeight, projBias: ParameterView
            let ln2Gain, ln2Bias, fcWeight, fcBias, mlpProjWeight, mlpProjBias: ParameterView
        }
        let embedWeight: ParameterView
        let embedBias: ParameterView?
        let positions: ParameterView
        let blocks: [Block]
        let finalGain, finalBias, headWeight, headBias: ParameterView
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
            positions = take(a.context, d)
            blocks = (0..<a.layers).map { _ in
                Block(ln1Gain: take(d), ln1Bias: take(d), qkvWeight: take(3 * d, d), qkvBias: take(3 * d),
                      projWeight: take(d, d), projBias: take(d), ln2Gain: take(d), ln2Bias: take(d),
                      fcWeight: take(hidden, d), fcBias: take(hidden), mlpProjWeight: take(d, hidden), mlpProjBias: take(d))
            }
            finalGain = take(d)
            finalBias = take(d)
            headWeight = take(a.outputs, d)
            headBias = take(a.outputs)
            count = offset
        }

        /// Every tensor with its PyTorch name and shape, in buffer order.
        func named(_ a: TransformerArchitecture) -> [(String, ParameterView, [Int])] {
            func shape(_ v: ParameterView) -> [Int] { v.columns == 1 ? [v.rows] : [v.rows, v.columns] }
            var list: [(String, ParameterView, [Int])] = [("embed.weight", embedWeight, shape(embedWeight))]
            if let embedBias { list.append(("embed.bias", embedBias, shape(embedBias))) }
            list.append(("pos", positions, shape(positions)))
            for (l, b) in blocks.enumerated() {
                for (name, v) in [("ln1.weight", b.ln1Gain), ("ln1.bias", b.ln1Bias), ("attn.qkv.weight", b.qkvWeight),
                                  ("attn.qkv.bias", b.qkvBias), ("attn.proj.weight", b.projWeight), ("attn.proj.bias", b.projBias),
                                  ("ln2.weight", b.ln2Gain), ("ln2.bias", b.ln2Bias), ("mlp.fc.weight", b.fcWeight),
                                  ("mlp.fc.bias", b.fcBias), ("mlp.proj.weight", b.mlpProjWeight), ("mlp.proj.bias", b.mlpProjBias)] {
                    list.append(("blocks.\(l).\(name)", v, shape(v)))
                }
            }
            list += [("ln_f.weight", finalGain, shape(finalGain)), ("ln_f.bias", finalBias, shape(finalBias)),
                     ("head.weight", headWeight, shape(headWeight)), ("head.bias", headBias, shape(headBias))]
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
        // Backward scratch.
        let dResidual: Buffer, dNorm: Buffer, dQKV: Buffer, dProbabilities: Buffer, dScores: Buffer
        let dAttention: Buffer, dHiddenPost: Buffer, dHiddenPre: Buffer

        init(device: Device, architecture a: TransformerArchitecture, rows: Int, length: Int) throws {
            self.rows = rows
            self.length = length
            let n = rows * length, d = a.width, hidden = a.mlpRatio * d, scores = rows * a.heads * length * length
            func make(_ count: Int) throws -> Buffer { try device.makeBuffer(count: count) }
            func perLayer(_ count: Int) throws -> [Buffer] { try (0..<a.layers).map { _ in try make(count) } }
            residual = try (0...(2 * a.layers)).map { _ in try make(n * d) }
            norm1 = try perLayer(n * d); norm2 = try perLayer(n * d)
            statistics1 = try perLayer(2 * n); statistics2 = try perLayer(2 * n)
            qkv = try perLayer(3 * n * d)
            probabilities = try perLayer(scores)
            attention = try perLayer(n * d)
            hiddenPre = try perLayer(n * hidden); hiddenPost = try perLayer(n * hidden)
            finalNorm = try make(n * d); finalStatistics = try make(2 * n)
            logits = try make((a.lastPositionOnly ? rows : n) * a.outputs)
            dResidual = try make(n * d); dNorm = try make(n * d); dQKV = try make(3 * n * d)
            dProbabilities = try make(scores); dScores = try make(scores)
            dAttention = try make(n * d); dHiddenPost = try make(n * hidden); dHiddenPre = try make(n * hidden)
        }
    }

    public init(architecture: TransformerArchitecture, costSettings: CostSettings, device: Device) throws {
        try architecture.validate()
        self.architecture = architecture
        self.device = device
        views = Views(architecture)
        geometry = try SpatialGeometry(network: try Self.spatialNetwork(architecture, views: views), settings: costSettings,
                                       device: device)
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
        var parameters: [NeuronParameter] = [NeuronParameter(name: "pos", layer: 1, view: views.positions, alongRows: false)]
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
            parameters += [NeuronParameter(name: "blocks.\(l).ln1.weight", layer: before, view: b.ln1Gain),
                           NeuronParameter(name: "blocks.\(l).ln1.bias", layer: before, view: b.ln1Bias),
                           NeuronParameter(name: "blocks.\(l).ln2.weight", layer: middle, view: b.ln2Gain),
                           NeuronParameter(name: "blocks.\(l).ln2.bias", layer: middle, view: b.ln2Bias)]
            attentionGroups.append(SwapGroup(layers: [qkv, attention], blockSize: a.heads > 1 ? a.headDimension : nil))
        }
        let last = residualLayer(2 * a.layers), output = layers.count
        layers.append(NeuronLayer(name: "output", layout: try .line(neurons: a.outputs, name: "output")))
        connections.append(SpatialConnection(name: "head", input: last, output: output, weight: views.headWeight, bias: views.headBias))
        parameters += [NeuronParameter(name: "ln_f.weight", layer: last, view: views.finalGain),
                       NeuronParameter(name: "ln_f.bias", layer: last, view: views.finalBias)]
        groups.append(SwapGroup(layers: (0...(2 * a.layers)).map(residualLayer)))
        groups += attentionGroups
        groups.append(SwapGroup(layers: [output], swappable: false))
        return try SpatialNetwork(layers: layers, connections: connections, neuronParameters: parameters,
                                  embeddingTables: [views.positions], groups: groups)
    }

    /// nanoGPT's initialization: N(0, 0.02) for every matrix and embedding (the residual
    /// projections N(0, 0.02 / sqrt(2 layers))), zero biases, unit LayerNorm gains.
    public func initialize(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var values = [Float](repeating: 0, count: views.count)
        func normal(_ v: ParameterView, _ std: Float) {
            for i in v.offset..<(v.offset + v.count) { values[i] = std * Tasks.normal(&generator) }
        }
        func ones(_ v: ParameterView) { for i in v.offset..<(v.offset + v.count) { values[i] = 1 } }
        let projection = 0.02 / Float(2 * architecture.layers).squareRoot()
        normal(views.embedWeight, 0.02)
        normal(views.positions, 0.02)
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
                        inputGradient dx: BufferSlice?) throws {
        try device.linearBackward(x, weight: weight, bias: bias, parameters: parameters, gradients: gradients, rows: rows,
                                  outputGradient: dy, inputGradient: dx)
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

    /// Logits (or regression outputs) [rows, outputs] at the last position of each
    /// sequence, or [rows * length, outputs] at every position.
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
        try device.addBias(parameters.slice(offset: views.positions.offset, count: length * d), to: x0, rows: rows, columns: length * d)
        for (l, b) in views.blocks.enumerated() {
            let x = ws.residual[2 * l], middle = ws.residual[2 * l + 1], after = ws.residual[2 * l + 2]
            try layerNorm(x, gain: b.ln1Gain, bias: b.ln1Bias, rows: n, output: ws.norm1[l], statistics: ws.statistics1[l])
            try linear(ws.norm1[l].whole, b.qkvWeight, b.qkvBias, rows: n, into: ws.qkv[l].whole)
            try attentionForward(ws, layer: l)
            try device.copy(x.whole, to: middle.whole)
            try linear(ws.attention[l].whole, b.projWeight, b.projBias, rows: n, into: middle.whole, accumulate: true)
            try layerNorm(middle, gain: b.ln2Gain, bias: b.ln2Bias, rows: n, output: ws.norm2[l], statistics: ws.statistics2[l])
            try linear(ws.norm2[l].whole, b.fcWeight, b.fcBias, rows: n, into: ws.hiddenPre[l].whole)
            try device.activationForward(.gelu, input: ws.hiddenPre[l].whole, output: ws.hiddenPost[l].whole)
            try device.copy(middle.whole, to: after.whole)
            try linear(ws.hiddenPost[l].whole, b.mlpProjWeight, b.mlpProjBias, rows: n, into: after.whole, accumulate: true)
        }
        try layerNorm(ws.residual[2 * a.layers], gain: views.finalGain, bias: views.finalBias, rows: n, output: ws.finalNorm,
                      statistics: ws.finalStatistics)
        if a.lastPositionOnly {
            try device.gemm(GemmOperation(m: rows, n: a.outputs, k: d, transposeB: true, lda: length * d),
                            a: tail(ws.finalNorm, (length - 1) * d), b: slice(views.headWeight, parameters), c: ws.logits.whole)
            try device.addBias(slice(views.headBias, parameters), to: ws.logits.whole, rows: rows, columns: a.outputs)
        } else {
            try linear(ws.finalNorm.whole, views.headWeight, views.headBias, rows: n, into: ws.logits.whole)
        }
        return ws.logits.whole
    }

    /// Accumulates the gradient of every parameter given dLoss/dOutput (after `forward` on the same input).
    public func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice) throws {
        let a = architecture, length = try sequenceLength(input.count, rows: rows)
        let ws = try workspace(rows: rows, length: length), n = rows * length, d = a.width
        let dR = ws.dResidual
        try device.fill(dR.whole, value: 0)
        if a.lastPositionOnly {
            try device.gemm(GemmOperation(m: a.outputs, n: d, k: rows, transposeA: true, beta: 1, ldb: length * d),
                            a: outputGradient, b: tail(ws.finalNorm, (length - 1) * d), c: slice(views.headWeight, gradients))
            try device.sumColumns(outputGradient, rows: rows, columns: a.outputs, into: slice(views.headBias, gradients), accumulate: true)
            try device.fill(ws.dNorm.whole, value: 0)
            try device.gemm(GemmOperation(m: rows, n: d, k: a.outputs, ldc: length * d),
                            a: outputGradient, b: slice(views.headWeight, parameters), c: tail(ws.dNorm, (length - 1) * d))
        } else {
            try linearBackward(ws.finalNorm.whole, views.headWeight, views.headBias, rows: n, outputGradient: outputGradient,
                               inputGradient: ws.dNorm.whole)
        }
        try layerNormBackward(ws.residual[2 * a.layers], gain: views.finalGain, bias: views.finalBias, rows: n,
                              statistics: ws.finalStatistics, outputGradient: ws.dNorm, inputGradient: dR)
        for l in stride(from: a.layers - 1, through: 0, by: -1) {
            let b = views.blocks[l]
            // MLP: after = middle + proj(gelu(fc(ln2(middle)))).
            try linearBackward(ws.hiddenPost[l].whole, b.mlpProjWeight, b.mlpProjBias, rows: n, outputGradient: dR.whole,
                               inputGradient: ws.dHiddenPost.whole)
            try device.fill(ws.dHiddenPre.whole, value: 0)
            try device.activationBackward(.gelu, input: ws.hiddenPre[l].whole, outputGradient: ws.dHiddenPost.whole,
                                          inputGradient: ws.dHiddenPre.whole)
            try linearBackward(ws.norm2[l].whole, b.fcWeight, b.fcBias, rows: n, outputGradient: ws.dHiddenPre.whole,
                               inputGradient: ws.dNorm.whole)
            try layerNormBackward(ws.residual[2 * l + 1], gain: b.ln2Gain, bias: b.ln2Bias, rows: n, statistics: ws.statistics2[l],
                                  outputGradient: ws.dNorm, inputGradient: dR)
            // Attention: middle = x + proj(attention(ln1(x))).
            try linearBackward(ws.attention[l].whole, b.projWeight, b.projBias, rows: n, outputGradient: dR.whole,
                               inputGradient: ws.dAttention.whole)
            try attentionBackward(ws, layer: l)
            try linearBackward(ws.norm1[l].whole, b.qkvWeight, b.qkvBias, rows: n, outputGradient: ws.dQKV.whole,
                               inputGradient: ws.dNorm.whole)
            try layerNormBackward(ws.residual[2 * l], gain: b.ln1Gain, bias: b.ln1Bias, rows: n, statistics: ws.statistics1[l],
                                  outputGradient: ws.dNorm, inputGradient: dR)
        }
        try device.sumColumns(dR.whole, rows: rows, columns: length * d,
                              into: gradients.slice(offset: views.positions.offset, count: length * d), accumulate: true)
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
