/// A GPT-style decoder's shape: pre-LN blocks of causal multi-head self-attention and a
/// GELU MLP (`mlpRatio` x width), learned positional embeddings, a final LayerNorm and a
/// head. Inputs are tokens (`vocabulary` set: an embedding table) or real vectors of
/// `inputFeatures` per position (a linear input projection, the paper's in-context model).
/// `layerNorm` false drops every LayerNorm (blocks are x + attn(x), x + mlp(x)) and
/// `positionalEmbedding` false drops the positions, as the paper's in-context model does.
public struct TransformerArchitecture: Sendable, Equatable, Codable {
    /// Transformer blocks.
    public var layers: Int
    /// The residual stream's width.
    public var width: Int
    /// Attention heads per block (they divide the width).
    public var heads: Int
    /// The longest sequence the model takes (rows of the positional embedding).
    public var context: Int
    /// Token inputs from 0 ..< vocabulary (nil: real vectors).
    public var vocabulary: Int?
    /// Features per position for real-vector inputs.
    public var inputFeatures: Int?
    /// Logits (classes) or regression outputs per predicted position.
    public var outputs: Int
    /// The block MLP's hidden width over the residual width.
    public var mlpRatio: Int
    /// Predict at the last position only ("a b =" -> c) instead of at every position (a
    /// language model).
    public var lastPositionOnly: Bool
    /// Without `lastPositionOnly`: predict at positions 0, s, 2s, ... (s = 2: the x tokens of
    /// the in-context task, each predicting the y that follows it).
    public var predictionStride: Int
    /// How many of the `outputs` the model predicts (the first ones; nil: all). The others
    /// are neurons of the output layer that no loss reads (the in-context model's output
    /// map has d + 1 outputs, of which feature 0 is scored).
    public var predictedOutputs: Int?
    /// Pre-LN blocks and a final LayerNorm (false: x + attn(x), x + mlp(x), no final norm).
    public var layerNorm: Bool
    /// Learned positions added to the embedded inputs (false: none, as in the in-context model).
    public var positionalEmbedding: Bool
    /// nanoGPT's dropout rate, in training only: on the embedded inputs, the attention
    /// probabilities, and each block's attention and MLP outputs before they join the
    /// residual stream (0: none).
    public var dropout: Float

    /// A transformer's shape (defaults: MLP ratio 4, a prediction at every position, LayerNorm and positions on).
    public init(
        layers: Int, width: Int, heads: Int, context: Int, vocabulary: Int? = nil, inputFeatures: Int? = nil,
        outputs: Int, mlpRatio: Int = 4, lastPositionOnly: Bool = false, predictionStride: Int = 1,
        predictedOutputs: Int? = nil, layerNorm: Bool = true, positionalEmbedding: Bool = true, dropout: Float = 0
    ) {
        self.layers = layers
        self.width = width
        self.heads = heads
        self.context = context
        self.vocabulary = vocabulary
        self.inputFeatures = inputFeatures
        self.outputs = outputs
        self.mlpRatio = mlpRatio
        self.lastPositionOnly = lastPositionOnly
        self.predictionStride = predictionStride
        self.predictedOutputs = predictedOutputs
        self.layerNorm = layerNorm
        self.positionalEmbedding = positionalEmbedding
        self.dropout = dropout
    }

    enum CodingKeys: String, CodingKey {
        case layers, width, heads, context, vocabulary, inputFeatures, outputs, mlpRatio, lastPositionOnly,
            predictionStride
        case predictedOutputs, layerNorm, positionalEmbedding, dropout
    }

    /// Fields added after the first version default to that version's behaviour.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            layers: try c.decode(Int.self, forKey: .layers), width: try c.decode(Int.self, forKey: .width),
            heads: try c.decode(Int.self, forKey: .heads), context: try c.decode(Int.self, forKey: .context),
            vocabulary: try c.decodeIfPresent(Int.self, forKey: .vocabulary),
            inputFeatures: try c.decodeIfPresent(Int.self, forKey: .inputFeatures),
            outputs: try c.decode(Int.self, forKey: .outputs),
            mlpRatio: try c.decode(Int.self, forKey: .mlpRatio),
            lastPositionOnly: try c.decode(Bool.self, forKey: .lastPositionOnly),
            predictionStride: try c.decodeIfPresent(Int.self, forKey: .predictionStride) ?? 1,
            predictedOutputs: try c.decodeIfPresent(Int.self, forKey: .predictedOutputs),
            layerNorm: try c.decodeIfPresent(Bool.self, forKey: .layerNorm) ?? true,
            positionalEmbedding: try c.decodeIfPresent(Bool.self, forKey: .positionalEmbedding) ?? true,
            dropout: try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0)
    }

    /// Every field but a zero dropout (left out, so configurations without it read as before).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layers, forKey: .layers)
        try c.encode(width, forKey: .width)
        try c.encode(heads, forKey: .heads)
        try c.encode(context, forKey: .context)
        try c.encodeIfPresent(vocabulary, forKey: .vocabulary)
        try c.encodeIfPresent(inputFeatures, forKey: .inputFeatures)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(mlpRatio, forKey: .mlpRatio)
        try c.encode(lastPositionOnly, forKey: .lastPositionOnly)
        try c.encode(predictionStride, forKey: .predictionStride)
        try c.encodeIfPresent(predictedOutputs, forKey: .predictedOutputs)
        try c.encode(layerNorm, forKey: .layerNorm)
        try c.encode(positionalEmbedding, forKey: .positionalEmbedding)
        if dropout != 0 { try c.encode(dropout, forKey: .dropout) }
    }

    /// The outputs the model returns per predicted position.
    public var scoredOutputs: Int { predictedOutputs ?? outputs }

    /// The positions predicted in a sequence of `length`.
    public func predictedPositions(length: Int) -> [Int] {
        lastPositionOnly ? [length - 1] : Array(stride(from: 0, to: length, by: predictionStride))
    }

    /// Dimensions per head.
    public var headDimension: Int { width / max(1, heads) }
    /// Input values per position: 1 token, or `inputFeatures` reals.
    public var valuesPerPosition: Int { vocabulary != nil ? 1 : (inputFeatures ?? 1) }
    /// Width of the input layer: the vocabulary or the features.
    public var inputWidth: Int { vocabulary ?? inputFeatures ?? 0 }

    /// Checks every field; the error names it (`transformer.heads`, ...).
    public func validate() throws {
        func require(_ condition: Bool, _ field: String, _ text: String) throws {
            guard condition else { throw BIMTError.invalidField(field: "transformer." + field, reason: text) }
        }
        try SizeLimits.require(layers, in: 1...SizeLimits.layers, "transformer.layers")
        try SizeLimits.require(width, in: 1...SizeLimits.neurons, "transformer.width")
        try SizeLimits.require(heads, in: 1...SizeLimits.neurons, "transformer.heads")
        try require(
            width % heads == 0, "heads",
            "\(heads) heads do not divide the width \(width); pick a width that is a multiple of the heads")
        try SizeLimits.require(context, in: 1...SizeLimits.context, "transformer.context")
        try SizeLimits.require(outputs, in: 1...SizeLimits.neurons, "transformer.outputs")
        try SizeLimits.require(mlpRatio, in: 1...SizeLimits.factor, "transformer.mlpRatio")
        try SizeLimits.require(predictionStride, in: 1...SizeLimits.context, "transformer.predictionStride")
        try require(
            (1...outputs).contains(predictedOutputs ?? outputs), "predictedOutputs",
            "must lie in 1...\(outputs) (the outputs), got \(predictedOutputs ?? 0)")
        try require(
            (vocabulary != nil) != (inputFeatures != nil), "vocabulary",
            "give exactly one of vocabulary (token inputs) and inputFeatures (real-vector inputs)")
        if let vocabulary { try SizeLimits.require(vocabulary, in: 1...SizeLimits.neurons, "transformer.vocabulary") }
        if let inputFeatures {
            try SizeLimits.require(inputFeatures, in: 1...SizeLimits.neurons, "transformer.inputFeatures")
        }
        try require(dropout >= 0 && dropout < 1, "dropout", "must lie in [0, 1), got \(dropout)")
        // Every block holds about (4 + 2 mlpRatio) width^2 weights.
        let w = Double(width), blocks = Double(layers) * (4 + 2 * Double(mlpRatio)) * w * w
        try SizeLimits.requireValues(
            blocks + Double(inputWidth + context + outputs) * w,
            "the transformer's parameters", field: "transformer.width",
            lower: "the width, the layers or the vocabulary")
    }
}
