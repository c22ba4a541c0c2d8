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
/// blocks.l.attn.qkv.weight [3 width, width], .bias [3 width]
///                          (q, k, v stacked; head h = dims h*hd ..< (h+1)*hd of each)
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
    /// The transformer's shape.
    public let architecture: TransformerArchitecture
    /// The device holding the buffers.
    public let device: Device
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
    /// Outputs per predicted row.
    public var outputWidth: Int { architecture.scoredOutputs }
    /// The token embedding of the input, if any.
    public var embedding: EmbeddingSpec? { nil }
    /// Sequences per evaluation chunk: about 8k positions (charlm's evaluation workspace is
    /// then about 200 MB: every layer's activations are kept for a backward).
    public var maximumRows: Int { specification.maximumRows }

    /// The model's kind and architecture.
    public var specification: ModelSpec { .transformer(architecture) }

    /// Sets the next pass's dropout key (nil: no dropout, as in evaluation).
    public func setDropoutKey(_ key: UInt64?) { dropoutKey = key }

    /// Where dropout applies in the model.
    enum DropoutSite: Int { case embedding, attentionProbabilities, attentionOutput, mlpOutput }

    /// The key of one dropout site's mask in this pass (nil: no dropout).
    func dropoutKey(_ site: DropoutSite, layer: Int = 0) -> UInt64? {
        guard architecture.dropout > 0, let key = dropoutKey else { return nil }
        var generator = SeededGenerator(seed: key &+ UInt64(4 * layer + site.rawValue + 1) &* 0x632B_E59B_D9B4_E019)
        return generator.next()
    }

    /// Checks `data` against the architecture (see `ModelSpec.check`).
    public func check(_ data: TaskData, loss: LossKind) throws { try specification.check(data, loss: loss) }

    /// The weight matrices, the embedding and the positions.
    public var matrixRanges: [Range<Int>] {
        ([views.embedWeight] + (views.positions.map { [$0] } ?? [])
            + views.blocks.flatMap { [$0.qkvWeight, $0.projWeight, $0.fcWeight, $0.mlpProjWeight] }
            + [views.headWeight])
            .map(\.range)
    }
    let views: Views
    /// The current pass's dropout key (set by the trainer per micro-batch; nil in evaluation).
    var dropoutKey: UInt64?
    var workspaces: [Int: Workspace] = [:]

    /// How training and evaluation passes compute attention (sampling's key/value cache is
    /// separate). Fused by default; the unfused path stays for comparison.
    public var attentionKernel: AttentionKernel = .fused {
        didSet { if attentionKernel != oldValue { workspaces = [:] } }
    }

    /// Whether this model's passes use fused attention.
    var fusedAttention: Bool { attentionKernel == .fused }

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
        /// Where the backward pass's gradients are final: after the head (and final norm),
        /// and after each block (index l: block l, which the pass does after block l + 1).
        let readyAfterHead: Int
        let readyAfterBlock: [Int]

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
                Block(
                    ln1Gain: norm(), ln1Bias: norm(), qkvWeight: take(3 * d, d), qkvBias: take(3 * d),
                    projWeight: take(d, d), projBias: take(d), ln2Gain: norm(), ln2Bias: norm(),
                    fcWeight: take(hidden, d), fcBias: take(hidden), mlpProjWeight: take(d, hidden),
                    mlpProjBias: take(d))
            }
            finalGain = norm()
            finalBias = norm()
            headWeight = take(a.outputs, d)
            headBias = take(a.outputs)
            scoredHeadWeight = ParameterView(offset: headWeight.offset, rows: a.scoredOutputs, columns: d)
            scoredHeadBias = ParameterView(offset: headBias.offset, rows: a.scoredOutputs)
            count = offset
            let head = [headWeight, headBias, finalGain, finalBias].compactMap { $0?.range }
            let blockStages = blocks.reversed().map { b in
                [
                    b.ln1Gain, b.ln1Bias, b.qkvWeight, b.qkvBias, b.projWeight, b.projBias, b.ln2Gain, b.ln2Bias,
                    b.fcWeight, b.fcBias, b.mlpProjWeight, b.mlpProjBias,
                ].compactMap { $0?.range }
            }
            let marks = GradientWatermark.offsets(total: offset, stages: [head] + blockStages)
            readyAfterHead = marks[0]
            readyAfterBlock = Array(marks.dropFirst().reversed())
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
                    ("mlp.fc.bias", b.fcBias), ("mlp.proj.weight", b.mlpProjWeight), ("mlp.proj.bias", b.mlpProjBias),
                ]
                for case let (name, v?) in tensors { list.append(("blocks.\(l).\(name)", v, shape(v))) }
            }
            for case let (name, v?) in [("ln_f.weight", finalGain), ("ln_f.bias", finalBias)] {
                list.append((name, v, shape(v)))
            }
            list += [("head.weight", headWeight, shape(headWeight)), ("head.bias", headBias, shape(headBias))]
            return list
        }
    }

    /// The [B, H, L, L] tensors of unfused attention: per-layer probabilities and two
    /// backward scratches.
    struct UnfusedScores {
        let probabilities: [Buffer]
        let dProbabilities: Buffer, dScores: Buffer
    }

    /// Activations for one (sequences, length), sized once and reused by every step.
    final class Workspace {
        let rows: Int, length: Int
        let residual: [Buffer] // 2 * layers + 1 of [N, d]
        let norm1: [Buffer], norm2: [Buffer] // LN outputs [N, d]
        let statistics1: [Buffer], statistics2: [Buffer] // [2N]: mean, rstd
        let qkv: [Buffer] // [N, 3d]
        let logSumExp: [Buffer] // [B, H, L], fused attention only
        let unfused: UnfusedScores? // unfused attention only
        let attention: [Buffer] // [N, d]
        let hiddenPre: [Buffer], hiddenPost: [Buffer] // [N, r d]
        let finalNorm: Buffer?, finalStatistics: Buffer? // with LayerNorm only
        let logits: Buffer
        /// The head's input rows at the predicted positions [rows * predicted, d], and their
        /// row indices on the device, uploaded once (nil: every position is predicted, the
        /// head reads its input in place).
        let selected: Buffer?, selectedRows: Buffer?
        // Backward scratch.
        let dResidual: Buffer, dNorm: Buffer, dQKV: Buffer
        let dAttention: Buffer, dHiddenPost: Buffer, dHiddenPre: Buffer

        init(device: Device, architecture a: TransformerArchitecture, rows: Int, length: Int, fused: Bool) throws {
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
            logSumExp = fused ? try perLayer(rows * a.heads * length) : []
            unfused =
                fused
                ? nil
                : UnfusedScores(
                    probabilities: try perLayer(scores), dProbabilities: try make(scores),
                    dScores: try make(scores))
            attention = try perLayer(n * d)
            hiddenPre = try perLayer(n * hidden); hiddenPost = try perLayer(n * hidden)
            finalNorm = a.layerNorm ? try make(n * d) : nil; finalStatistics = a.layerNorm ? try make(2 * n) : nil
            let positions = a.predictedPositions(length: length)
            if positions.count == length {
                (selected, selectedRows) = (nil, nil)
            } else {
                selectedRows = try device.makeBuffer(
                    (0..<rows).flatMap { r in positions.map { Float(r * length + $0) } })
                selected = try make(rows * positions.count * d)
            }
            logits = try make(rows * positions.count * a.scoredOutputs)
            dResidual = try make(n * d); dNorm = try make(n * d); dQKV = try make(3 * n * d)
            dAttention = try make(n * d); dHiddenPost = try make(n * hidden); dHiddenPre = try make(n * hidden)
        }
    }

    /// `costSettings` is the training cost; `relocationCostSettings` the cost swaps minimize
    /// (nil: the training cost with wf on every matrix).
    public init(
        architecture: TransformerArchitecture, costSettings: CostSettings, relocationCostSettings: CostSettings? = nil,
        device: Device
    ) throws {
        try architecture.validate()
        self.architecture = architecture
        self.device = device
        views = Views(architecture)
        geometry = try SpatialGeometry(
            network: try Self.spatialNetwork(architecture, views: views), settings: costSettings,
            relocationSettings: relocationCostSettings, device: device)
        let buffers = try ParameterBuffers(count: views.count, device: device)
        (parameters, gradients, firstMoments, secondMoments) = (
            buffers.parameters, buffers.gradients, buffers.firstMoments, buffers.secondMoments
        )
    }

    /// Layer index of residual point i (0: after the embedding; 2l+1: after block l's
    /// attention; 2l+2: after its MLP).
    static func residualLayer(_ i: Int) -> Int { i == 0 ? 1 : 2 + 5 * ((i - 1) / 2) + ((i - 1) % 2 == 0 ? 2 : 4) }

    static func spatialNetwork(_ a: TransformerArchitecture, views: Views) throws -> SpatialNetwork {
        let d = a.width, hidden = a.mlpRatio * d
        var layers = [
            NeuronLayer(
                name: a.vocabulary != nil ? "tokens" : "inputs",
                layout: try .line(neurons: a.inputWidth, name: "inputs")),
            NeuronLayer(name: "residual 0", layout: try .line(neurons: d, name: "residual")),
        ]
        var connections: [SpatialConnection] = []
        var parameters: [NeuronParameter] =
            views.positions.map { [NeuronParameter(name: "pos", layer: 1, view: $0, alongRows: false)] } ?? []
        var groups = [SwapGroup(layers: [0], swappable: false)]
        if a.vocabulary != nil {
            // nn.Embedding's [vocabulary, width]: a matrix whose rows are the token layer's neurons.
            connections.append(SpatialConnection(name: "embed", input: 1, output: 0, weight: views.embedWeight))
        } else {
            connections.append(
                SpatialConnection(name: "embed", input: 0, output: 1, weight: views.embedWeight, bias: views.embedBias))
        }
        var attentionGroups: [SwapGroup] = []
        for (l, b) in views.blocks.enumerated() {
            let qkv = layers.count, attention = qkv + 1, middle = qkv + 2, hiddenLayer = qkv + 3, after = qkv + 4
            let before = residualLayer(2 * l)
            layers += [
                NeuronLayer(
                    name: "block \(l) q/k/v", layout: try .line(neurons: 3 * d, folds: 3, name: "block \(l) q/k/v")),
                NeuronLayer(name: "block \(l) attention", layout: try .line(neurons: d, name: "block \(l) attention")),
                NeuronLayer(name: "residual \(2 * l + 1)", layout: try .line(neurons: d, name: "residual")),
                NeuronLayer(name: "block \(l) mlp", layout: try .line(neurons: hidden, name: "block \(l) mlp")),
                NeuronLayer(name: "residual \(2 * l + 2)", layout: try .line(neurons: d, name: "residual")),
            ]
            connections += [
                SpatialConnection(
                    name: "blocks.\(l).attn.qkv", input: before, output: qkv, weight: b.qkvWeight, bias: b.qkvBias),
                SpatialConnection(
                    name: "blocks.\(l).attn.proj", input: attention, output: middle, weight: b.projWeight,
                    bias: b.projBias),
                SpatialConnection(
                    name: "blocks.\(l).mlp.fc", input: middle, output: hiddenLayer, weight: b.fcWeight, bias: b.fcBias),
                SpatialConnection(
                    name: "blocks.\(l).mlp.proj", input: hiddenLayer, output: after, weight: b.mlpProjWeight,
                    bias: b.mlpProjBias),
            ]
            for case let (name, layer, view?) in [
                ("ln1.weight", before, b.ln1Gain), ("ln1.bias", before, b.ln1Bias),
                ("ln2.weight", middle, b.ln2Gain), ("ln2.bias", middle, b.ln2Bias),
            ] {
                parameters.append(NeuronParameter(name: "blocks.\(l).\(name)", layer: layer, view: view))
            }
            attentionGroups.append(SwapGroup(layers: [qkv, attention], blockSize: a.heads > 1 ? a.headDimension : nil))
        }
        let last = residualLayer(2 * a.layers), output = layers.count
        layers.append(NeuronLayer(name: "output", layout: try .line(neurons: a.outputs, name: "output")))
        connections.append(
            SpatialConnection(name: "head", input: last, output: output, weight: views.headWeight, bias: views.headBias)
        )
        for case let (name, view?) in [("ln_f.weight", views.finalGain), ("ln_f.bias", views.finalBias)] {
            parameters.append(NeuronParameter(name: name, layer: last, view: view))
        }
        groups.append(SwapGroup(layers: (0...(2 * a.layers)).map(residualLayer)))
        groups += attentionGroups
        groups.append(SwapGroup(layers: [output], swappable: false))
        return try SpatialNetwork(
            layers: layers, connections: connections, neuronParameters: parameters,
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

    // MARK: Checkpoints

    /// The parameters as PyTorch-named tensors.
    public func exportTensors(_ values: [Float]) -> [NamedTensor] {
        Self.exportTensors(values, views: views, architecture)
    }

    /// Reads the PyTorch-named tensors of `file` into flat parameter values, checking shapes.
    public func importTensors(from file: NamedTensors, into values: inout [Float]) throws {
        try Self.importTensors(from: file, views: views, architecture, into: &values)
    }

    static func exportTensors(_ values: [Float], views: Views, _ a: TransformerArchitecture) -> [NamedTensor] {
        views.named(a).map { name, v, shape in
            NamedTensor(name, shape: shape, Array(values[v.offset..<(v.offset + v.count)]))
        }
    }

    static func importTensors(
        from file: NamedTensors, views: Views, _ architecture: TransformerArchitecture,
        into values: inout [Float]
    ) throws {
        for (name, v, shape) in views.named(architecture) {
            try file.read(name, shape: shape, into: &values, at: v.offset)
        }
    }
}

/// How a GPT computes causal self-attention in its training and evaluation passes.
public enum AttentionKernel: String, Sendable, CaseIterable, Codable {
    /// `Device.causalAttentionForward`/`Backward`: blocks of query rows against the keys they
    /// see, nothing of size [length, length] stored (one log-sum-exp per row instead).
    case fused
    /// Per-head GEMMs into [sequences, heads, length, length] scores, a causal softmax, and
    /// the probabilities kept for the backward pass.
    case unfused
}
