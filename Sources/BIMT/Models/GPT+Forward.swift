import BIMTCompute
import Foundation

/// The GPT's forward and backward passes (backward mirrors forward in reverse).
extension GPT {
    // MARK: Forward and backward

    /// Sequence length of an input of `count` values for `rows` sequences.
    func sequenceLength(_ count: Int, rows: Int) throws -> Int {
        let perPosition = architecture.valuesPerPosition
        guard rows >= 1, count % (rows * perPosition) == 0 else {
            throw BIMTError.shapeMismatch(
                "transformer input holds \(count) values, not \(rows) sequences of \(perPosition)-value positions")
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
        let workspace = try Workspace(
            device: device, architecture: architecture, rows: rows, length: length, fused: fusedAttention)
        workspaces[key] = workspace
        return workspace
    }

    func slice(_ v: ParameterView, _ buffer: Buffer) -> BufferSlice { buffer.slice(offset: v.offset, count: v.count) }

    /// From `offset` to the end of `buffer` (a strided GEMM operand).
    func tail(_ buffer: Buffer, _ offset: Int) -> BufferSlice {
        buffer.slice(offset: offset, count: buffer.count - offset)
    }

    /// LayerNorm of x into `output`, or x itself without LayerNorm: the buffer the next
    /// layer reads.
    func layerNorm(
        _ x: Buffer, gain: ParameterView?, bias: ParameterView?, rows: Int, output: [Buffer], layer: Int,
        statistics: [Buffer]
    ) throws -> Buffer {
        guard let gain, let bias else { return x }
        try layerNorm(x, gain: gain, bias: bias, rows: rows, output: output[layer], statistics: statistics[layer])
        return output[layer]
    }

    func layerNorm(_ x: Buffer, gain: ParameterView, bias: ParameterView, rows: Int, output: Buffer, statistics: Buffer)
        throws
    {
        try device.layerNormForward(
            x.whole, gamma: slice(gain, parameters), beta: slice(bias, parameters), rows: rows,
            columns: architecture.width, output: output.whole,
            mean: statistics.slice(offset: 0, count: rows), rstd: statistics.slice(offset: rows, count: rows))
    }

    func layerNormBackward(
        _ x: Buffer, gain: ParameterView, bias: ParameterView, rows: Int, statistics: Buffer,
        outputGradient: Buffer, inputGradient: Buffer
    ) throws {
        try device.layerNormBackward(
            x.whole, gamma: slice(gain, parameters), outputGradient: outputGradient.whole,
            mean: statistics.slice(offset: 0, count: rows), rstd: statistics.slice(offset: rows, count: rows),
            rows: rows, columns: architecture.width, inputGradient: inputGradient.whole,
            gammaGradient: slice(gain, gradients), betaGradient: slice(bias, gradients))
    }

    func linear(
        _ x: BufferSlice, _ weight: ParameterView, _ bias: ParameterView?, rows: Int, into y: BufferSlice,
        accumulate: Bool = false
    ) throws {
        try device.linear(
            x, weight: weight, bias: bias, parameters: parameters, rows: rows, into: y, accumulate: accumulate)
    }

    func linearBackward(
        _ x: BufferSlice, _ weight: ParameterView, _ bias: ParameterView?, rows: Int, outputGradient dy: BufferSlice,
        inputGradient dx: BufferSlice?, accumulateInput: Bool = false
    ) throws {
        try device.linearBackward(
            x, weight: weight, bias: bias, parameters: parameters, gradients: gradients, rows: rows,
            outputGradient: dy, inputGradient: dx, accumulateInput: accumulateInput)
    }

    /// The backward of a linear map that reads `x` through an optional LayerNorm (`normed` is
    /// what the map read): adds dLoss/dx into `dR`, through the LayerNorm's backward (dNorm
    /// as scratch) or directly.
    func normedLinearBackward(
        _ x: Buffer, normed: Buffer, gain: ParameterView?, bias: ParameterView?, statistics: Buffer?,
        weight: ParameterView, weightBias: ParameterView?, rows: Int, outputGradient dy: BufferSlice,
        ws: Workspace
    ) throws {
        guard let gain, let bias, let statistics else {
            try linearBackward(
                x.whole, weight, weightBias, rows: rows, outputGradient: dy, inputGradient: ws.dResidual.whole,
                accumulateInput: true)
            return
        }
        try linearBackward(
            normed.whole, weight, weightBias, rows: rows, outputGradient: dy, inputGradient: ws.dNorm.whole)
        try layerNormBackward(
            x, gain: gain, bias: bias, rows: rows, statistics: statistics, outputGradient: ws.dNorm,
            inputGradient: ws.dResidual)
    }

    func attentionShape(_ ws: Workspace) -> AttentionShape {
        AttentionShape(
            sequences: ws.rows, length: ws.length, heads: architecture.heads, headDimension: architecture.headDimension)
    }

    func attentionForward(_ ws: Workspace, layer l: Int) throws {
        if let unfused = ws.unfused { return try unfusedAttentionForward(ws, unfused, layer: l) }
        let key = dropoutKey(.attentionProbabilities, layer: l)
        try device.causalAttentionForward(
            attentionShape(ws), qkv: ws.qkv[l].whole, output: ws.attention[l].whole,
            logSumExp: ws.logSumExp[l].whole, dropoutRate: key == nil ? 0 : architecture.dropout,
            dropoutKey: key ?? 0)
    }

    /// dQKV from dY (ws.dAttention).
    func attentionBackward(_ ws: Workspace, layer l: Int) throws {
        if let unfused = ws.unfused { return try unfusedAttentionBackward(ws, unfused, layer: l) }
        let key = dropoutKey(.attentionProbabilities, layer: l)
        try device.causalAttentionBackward(
            attentionShape(ws), qkv: ws.qkv[l].whole, output: ws.attention[l].whole,
            outputGradient: ws.dAttention.whole, logSumExp: ws.logSumExp[l].whole,
            qkvGradient: ws.dQKV.whole, dropoutRate: key == nil ? 0 : architecture.dropout,
            dropoutKey: key ?? 0)
    }

    func unfusedAttentionForward(_ ws: Workspace, _ u: UnfusedScores, layer l: Int) throws {
        let key = dropoutKey(.attentionProbabilities, layer: l)
        try device.unfusedCausalAttentionForward(
            attentionShape(ws), qkv: ws.qkv[l].whole, output: ws.attention[l].whole,
            probabilities: u.probabilities[l].whole, scratch: u.dScores.whole,
            dropoutRate: key == nil ? 0 : architecture.dropout, dropoutKey: key ?? 0)
    }

    func unfusedAttentionBackward(_ ws: Workspace, _ u: UnfusedScores, layer l: Int) throws {
        let key = dropoutKey(.attentionProbabilities, layer: l)
        try device.unfusedCausalAttentionBackward(
            attentionShape(ws), qkv: ws.qkv[l].whole, outputGradient: ws.dAttention.whole,
            probabilities: u.probabilities[l].whole, scratch: (u.dProbabilities.whole, u.dScores.whole),
            qkvGradient: ws.dQKV.whole, dropoutRate: key == nil ? 0 : architecture.dropout,
            dropoutKey: key ?? 0)
    }

    /// Logits (or regression outputs) [rows * predicted positions, scored outputs] at the
    /// predicted positions of each sequence (every position, the last, or every s-th).
    public func forward(input: BufferSlice, rows: Int) throws -> BufferSlice {
        let a = architecture, length = try sequenceLength(input.count, rows: rows)
        let ws = try workspace(rows: rows, length: length), n = rows * length, d = a.width
        let x0 = ws.residual[0].whole
        if a.vocabulary != nil {
            try device.embeddingForward(
                tokens: input, table: slice(views.embedWeight, parameters), rows: rows, folds: length,
                dimension: d, output: x0)
        } else {
            try linear(input, views.embedWeight, views.embedBias, rows: n, into: x0)
        }
        if let positions = views.positions {
            try device.addBias(
                parameters.slice(offset: positions.offset, count: length * d), to: x0, rows: rows, columns: length * d)
        }
        if let key = dropoutKey(.embedding) { try device.dropout(x0, into: x0, rate: a.dropout, key: key) }
        for (l, b) in views.blocks.enumerated() {
            let x = ws.residual[2 * l], middle = ws.residual[2 * l + 1], after = ws.residual[2 * l + 2]
            let normed1 = try layerNorm(
                x, gain: b.ln1Gain, bias: b.ln1Bias, rows: n, output: ws.norm1, layer: l, statistics: ws.statistics1)
            try linear(normed1.whole, b.qkvWeight, b.qkvBias, rows: n, into: ws.qkv[l].whole)
            try attentionForward(ws, layer: l)
            try device.copy(x.whole, to: middle.whole)
            try residualAdd(
                ws.attention[l].whole, b.projWeight, b.projBias, rows: n, into: middle, scratch: ws.dAttention,
                key: dropoutKey(.attentionOutput, layer: l))
            let normed2 = try layerNorm(
                middle, gain: b.ln2Gain, bias: b.ln2Bias, rows: n, output: ws.norm2, layer: l,
                statistics: ws.statistics2)
            try linear(normed2.whole, b.fcWeight, b.fcBias, rows: n, into: ws.hiddenPre[l].whole)
            try device.activationForward(.gelu, input: ws.hiddenPre[l].whole, output: ws.hiddenPost[l].whole)
            try device.copy(middle.whole, to: after.whole)
            try residualAdd(
                ws.hiddenPost[l].whole, b.mlpProjWeight, b.mlpProjBias, rows: n, into: after, scratch: ws.dNorm,
                key: dropoutKey(.mlpOutput, layer: l))
        }
        let final = try headInput(ws)
        let head = try headRows(ws, final)
        try linear(head.input, views.scoredHeadWeight, views.scoredHeadBias, rows: head.rows, into: ws.logits.whole)
        return ws.logits.whole
    }

    /// residual += linear(x), or with a dropout key residual += dropout(linear(x)) through `scratch`.
    func residualAdd(
        _ x: BufferSlice, _ weight: ParameterView, _ bias: ParameterView?, rows: Int, into residual: Buffer,
        scratch: Buffer,
        key: UInt64?
    ) throws {
        guard let key else {
            try linear(x, weight, bias, rows: rows, into: residual.whole, accumulate: true)
            return
        }
        try linear(x, weight, bias, rows: rows, into: scratch.whole)
        try device.dropout(scratch.whole, into: scratch.whole, rate: architecture.dropout, key: key)
        try device.axpy(alpha: 1, x: scratch.whole, y: residual.whole)
    }

    /// The backward of `residualAdd`: the linear map's output gradient is dR itself, or dR
    /// through the same dropout mask (into `scratch`).
    func residualAddBackward(
        _ x: BufferSlice, _ weight: ParameterView, _ bias: ParameterView?, rows: Int, outputGradient dR: Buffer,
        scratch: Buffer, key: UInt64?, inputGradient: BufferSlice
    ) throws {
        var dy = dR.whole
        if let key {
            try device.dropout(dR.whole, into: scratch.whole, rate: architecture.dropout, key: key)
            dy = scratch.whole
        }
        try linearBackward(x, weight, bias, rows: rows, outputGradient: dy, inputGradient: inputGradient)
    }

    /// The final LayerNorm's output, or the last residual point without LayerNorm.
    func headInput(_ ws: Workspace) throws -> Buffer {
        let last = ws.residual[2 * architecture.layers]
        guard let gain = views.finalGain, let bias = views.finalBias, let norm = ws.finalNorm,
            let statistics = ws.finalStatistics
        else { return last }
        try layerNorm(last, gain: gain, bias: bias, rows: ws.rows * ws.length, output: norm, statistics: statistics)
        return norm
    }

    /// What the head reads: `final` in place when every position is predicted, else its
    /// rows at the predicted positions gathered into `ws.selected`.
    func headRows(_ ws: Workspace, _ final: Buffer) throws -> (input: BufferSlice, rows: Int) {
        guard let selected = ws.selected, let indices = ws.selectedRows else {
            return (final.whole, ws.rows * ws.length)
        }
        try device.gatherRows(
            source: final.whole, columns: architecture.width, deviceIndices: indices.whole, into: selected.whole)
        return (selected.whole, indices.count)
    }

    /// Accumulates the gradient of every parameter given dLoss/dOutput (after `forward` on the
    /// same input), in the reverse order of `forward`.
    public func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice) throws {
        try backward(input: input, rows: rows, outputGradient: outputGradient) { _ in }
    }

    /// The head's gradients are final first, then each block's, last to first, then the
    /// embedding's (`gradientsReady` hears each).
    public func backward(
        input: BufferSlice, rows: Int, outputGradient: BufferSlice, gradientsReady: (Int) throws -> Void
    ) throws {
        let a = architecture, length = try sequenceLength(input.count, rows: rows)
        let ws = try workspace(rows: rows, length: length), n = rows * length, d = a.width
        let dR = ws.dResidual
        // Head: dFinal at the predicted rows (zero elsewhere), into dNorm with a final
        // LayerNorm, else straight into the residual gradient.
        let dFinal = ws.finalNorm != nil ? ws.dNorm : dR
        let final = ws.finalNorm ?? ws.residual[2 * a.layers]
        if let selected = ws.selected, let indices = ws.selectedRows {
            try linearBackward(
                selected.whole, views.scoredHeadWeight, views.scoredHeadBias, rows: indices.count,
                outputGradient: outputGradient, inputGradient: nil)
            // The predicted rows sit at a fixed stride in every sequence: one strided GEMM
            // per sequence writes their gradients in place.
            let positions = a.predictedPositions(length: length),
                step = positions.count > 1 ? positions[1] - positions[0] : 1
            try device.fill(dFinal.whole, value: 0)
            try device.gemm(
                GemmOperation(
                    m: positions.count, n: d, k: a.scoredOutputs, ldc: step * d, batchCount: rows,
                    strideA: positions.count * a.scoredOutputs, strideB: 0, strideC: length * d),
                a: outputGradient, b: slice(views.scoredHeadWeight, parameters), c: tail(dFinal, positions[0] * d))
        } else {
            try linearBackward(
                final.whole, views.scoredHeadWeight, views.scoredHeadBias, rows: n, outputGradient: outputGradient,
                inputGradient: dFinal.whole)
        }
        if let gain = views.finalGain, let bias = views.finalBias, let statistics = ws.finalStatistics {
            try device.fill(dR.whole, value: 0)
            try layerNormBackward(
                ws.residual[2 * a.layers], gain: gain, bias: bias, rows: n, statistics: statistics,
                outputGradient: ws.dNorm, inputGradient: dR)
        }
        try gradientsReady(views.readyAfterHead)
        for l in stride(from: a.layers - 1, through: 0, by: -1) {
            let b = views.blocks[l], middle = ws.residual[2 * l + 1], x = ws.residual[2 * l]
            // MLP: after = middle + proj(gelu(fc(ln2(middle)))).
            try residualAddBackward(
                ws.hiddenPost[l].whole, b.mlpProjWeight, b.mlpProjBias, rows: n, outputGradient: dR, scratch: ws.dNorm,
                key: dropoutKey(.mlpOutput, layer: l), inputGradient: ws.dHiddenPost.whole)
            try device.fill(ws.dHiddenPre.whole, value: 0)
            try device.activationBackward(
                .gelu, input: ws.hiddenPre[l].whole, outputGradient: ws.dHiddenPost.whole,
                inputGradient: ws.dHiddenPre.whole)
            try normedLinearBackward(
                middle, normed: a.layerNorm ? ws.norm2[l] : middle, gain: b.ln2Gain, bias: b.ln2Bias,
                statistics: a.layerNorm ? ws.statistics2[l] : nil, weight: b.fcWeight, weightBias: b.fcBias,
                rows: n, outputGradient: ws.dHiddenPre.whole, ws: ws)
            // Attention: middle = x + proj(attention(ln1(x))).
            try residualAddBackward(
                ws.attention[l].whole, b.projWeight, b.projBias, rows: n, outputGradient: dR, scratch: ws.dNorm,
                key: dropoutKey(.attentionOutput, layer: l), inputGradient: ws.dAttention.whole)
            try attentionBackward(ws, layer: l)
            try normedLinearBackward(
                x, normed: a.layerNorm ? ws.norm1[l] : x, gain: b.ln1Gain, bias: b.ln1Bias,
                statistics: a.layerNorm ? ws.statistics1[l] : nil, weight: b.qkvWeight, weightBias: b.qkvBias,
                rows: n, outputGradient: ws.dQKV.whole, ws: ws)
            try gradientsReady(views.readyAfterBlock[l])
        }
        if let key = dropoutKey(.embedding) { try device.dropout(dR.whole, into: dR.whole, rate: a.dropout, key: key) }
        if let positions = views.positions {
            try device.sumColumns(
                dR.whole, rows: rows, columns: length * d,
                into: gradients.slice(offset: positions.offset, count: length * d), accumulate: true)
        }
        if let vocabulary = a.vocabulary {
            try device.embeddingBackward(
                tokens: input, outputGradient: dR.whole, rows: rows, folds: length, dimension: d,
                vocabulary: vocabulary, tableGradient: slice(views.embedWeight, gradients))
        } else {
            try linearBackward(
                input, views.embedWeight, views.embedBias, rows: n, outputGradient: dR.whole, inputGradient: nil)
        }
        try gradientsReady(0)
    }
}
