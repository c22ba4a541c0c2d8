import BIMTCompute

extension GPT {
    /// Token-by-token decoding with a key/value cache, on the model's device: each new token
    /// runs the blocks for its one position and attends to the keys and values cached for the
    /// positions before it, so it costs O(context) instead of a whole forward pass over the
    /// window. Its logits equal the forward pass's at that position.
    public final class Decoder {
        public let model: GPT
        /// Tokens in the cache (the next token's position).
        public private(set) var length = 0
        let keys: [Buffer], values: [Buffer] // per block: [context, width], row p = position p
        let residual: Buffer, normed: Buffer, qkv: Buffer, attention: Buffer, hidden: Buffer, hiddenPost: Buffer
        let scores: Buffer, statistics: Buffer, token: Buffer, logits: Buffer

        /// A decoder with an empty cache (a token model only).
        public init(model: GPT) throws {
            let a = model.architecture, d = a.width, device = model.device
            guard let vocabulary = a.vocabulary, !a.lastPositionOnly else {
                throw BIMTError.invalidSetting(
                    "decoding with a cache needs a token model that predicts at every position")
            }
            self.model = model
            keys = try (0..<a.layers).map { _ in try device.makeBuffer(count: a.context * d) }
            values = try (0..<a.layers).map { _ in try device.makeBuffer(count: a.context * d) }
            residual = try device.makeBuffer(count: d)
            normed = try device.makeBuffer(count: d)
            qkv = try device.makeBuffer(count: 3 * d)
            attention = try device.makeBuffer(count: d)
            hidden = try device.makeBuffer(count: a.mlpRatio * d)
            hiddenPost = try device.makeBuffer(count: a.mlpRatio * d)
            scores = try device.makeBuffer(count: a.heads * a.context)
            statistics = try device.makeBuffer(count: 2)
            token = try device.makeBuffer(count: 1)
            logits = try device.makeBuffer(count: max(a.outputs, vocabulary))
        }

        /// Empties the cache.
        public func reset() { length = 0 }

        /// Appends `token` at the next position and returns the logits predicting the token
        /// after it. The cache holds at most `context` tokens; `length` tells how many.
        public func append(_ tokenID: Int) throws -> [Float] {
            let a = model.architecture, d = a.width, hd = a.headDimension, device = model.device, views = model.views
            guard length < a.context else {
                throw BIMTError.invalidSetting(
                    "the cache holds the model's whole context of \(a.context) tokens; reset it first")
            }
            guard (0..<(a.vocabulary ?? 0)).contains(tokenID) else {
                throw BIMTError.invalidSetting("token \(tokenID) is outside the vocabulary of \(a.vocabulary ?? 0)")
            }
            let p = length, parameters = model.parameters
            try device.write([Float(tokenID)], to: token.whole)
            try device.embeddingForward(
                tokens: token.whole, table: model.slice(views.embedWeight, parameters), rows: 1, folds: 1,
                dimension: d, output: residual.whole)
            if let positions = views.positions {
                try device.addBias(
                    parameters.slice(offset: positions.offset + p * d, count: d), to: residual.whole, rows: 1,
                    columns: d)
            }
            let mean = statistics.slice(offset: 0, count: 1), rstd = statistics.slice(offset: 1, count: 1)
            func norm(_ gain: ParameterView?, _ bias: ParameterView?) throws -> BufferSlice {
                guard let gain, let bias else { return residual.whole }
                try device.layerNormForward(
                    residual.whole, gamma: model.slice(gain, parameters), beta: model.slice(bias, parameters),
                    rows: 1, columns: d, output: normed.whole, mean: mean, rstd: rstd)
                return normed.whole
            }
            let t = p + 1, scale = 1 / Float(hd).squareRoot()
            for (l, b) in views.blocks.enumerated() {
                try model.linear(try norm(b.ln1Gain, b.ln1Bias), b.qkvWeight, b.qkvBias, rows: 1, into: qkv.whole)
                try device.copy(qkv.slice(offset: d, count: d), to: keys[l].slice(offset: p * d, count: d))
                try device.copy(qkv.slice(offset: 2 * d, count: d), to: values[l].slice(offset: p * d, count: d))
                // Per head: s = q_h K_h^T / sqrt(hd) over the t cached positions, softmax, y_h = s V_h
                // (in fp32 at either precision, as training's attention).
                let scoreRows = scores.slice(offset: 0, count: a.heads * t)
                try device.gemm(
                    GemmOperation(
                        m: 1, n: t, k: hd, transposeB: true, alpha: scale, lda: hd, ldb: d, ldc: t,
                        batchCount: a.heads, strideA: hd, strideB: hd, strideC: t),
                    a: qkv.slice(offset: 0, count: d), b: keys[l].whole, c: scoreRows, precision: .fp32)
                try device.softmaxRows(scoreRows, output: scoreRows, rows: a.heads, columns: t)
                try device.gemm(
                    GemmOperation(
                        m: 1, n: hd, k: t, lda: t, ldb: d, ldc: d, batchCount: a.heads, strideA: t, strideB: hd,
                        strideC: hd),
                    a: scoreRows, b: values[l].whole, c: attention.whole, precision: .fp32)
                try model.linear(
                    attention.whole, b.projWeight, b.projBias, rows: 1, into: residual.whole, accumulate: true)
                try model.linear(try norm(b.ln2Gain, b.ln2Bias), b.fcWeight, b.fcBias, rows: 1, into: hidden.whole)
                try device.activationForward(.gelu, input: hidden.whole, output: hiddenPost.whole)
                try model.linear(
                    hiddenPost.whole, b.mlpProjWeight, b.mlpProjBias, rows: 1, into: residual.whole, accumulate: true)
            }
            let outputs = logits.slice(offset: 0, count: a.scoredOutputs)
            try model.linear(
                try norm(views.finalGain, views.finalBias), views.scoredHeadWeight, views.scoredHeadBias, rows: 1,
                into: outputs)
            length += 1
            return try device.read(outputs)
        }
    }
}
