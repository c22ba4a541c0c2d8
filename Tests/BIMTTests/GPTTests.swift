@testable import BIMT
import BIMTCompute
import Foundation
import Testing

/// The GPT against PyTorch golden files (Tests/Golden, made by scripts/golden/gpt_golden.py
/// in float64), finite differences, and the function invariance of every transformer move.
@Suite struct GPTTests {
    struct Golden {
        let file: SafeTensors
        let architecture: TransformerArchitecture
        let adamW: AdamWHyperparameters
        let crossEntropy: Bool

        init(_ name: String) throws {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appending(path: "Golden/\(name)")
            file = try SafeTensors(contentsOf: url)
            let config = try JSONSerialization.jsonObject(with: Data(file.metadata["config"]!.utf8)) as! [String: Any]
            architecture = TransformerArchitecture(
                layers: config["layers"] as! Int, width: config["width"] as! Int, heads: config["heads"] as! Int,
                context: config["context"] as! Int, vocabulary: config["vocabulary"] as? Int,
                inputFeatures: config["features"] as? Int,
                outputs: config["outputs"] as! Int, mlpRatio: config["ratio"] as? Int ?? 4,
                lastPositionOnly: config["last"] as? Bool ?? false)
            let adam = try JSONSerialization.jsonObject(with: Data(file.metadata["adamw"]!.utf8)) as! [String: Double]
            adamW = AdamWHyperparameters(
                learningRate: Float(adam["lr"]!), beta1: Float(adam["beta1"]!), beta2: Float(adam["beta2"]!),
                epsilon: Float(adam["eps"]!), weightDecay: Float(adam["weight_decay"]!))
            crossEntropy = file.metadata["loss"] == "ce"
        }

        func tensor(_ name: String) throws -> [Float] { try file.floats(name).1 }
        func shape(_ name: String) throws -> [Int] { try file.floats(name).0 }

        /// Flat parameter values from the "PREFIX.NAME" tensors, in the model's layout.
        func values(_ model: GPT, prefix: String) throws -> [Float] {
            var values = [Float](repeating: 0, count: model.parameterCount)
            for (name, view, shape) in model.views.named(architecture) {
                #expect(try self.shape("\(prefix).\(name)") == shape, "\(name)")
                values.replaceSubrange(view.offset..<(view.offset + view.count), with: try tensor("\(prefix).\(name)"))
            }
            return values
        }
    }

    /// Loss into accumulator[0] and dLoss/dOutput into `gradient`.
    static func loss(
        _ device: Device, _ golden: Golden, output: BufferSlice, targets: Buffer, gradient: Buffer, accumulator: Buffer
    ) throws {
        try device.fill(accumulator.whole, value: 0)
        if golden.crossEntropy {
            let columns = golden.architecture.outputs
            try device.crossEntropy(
                logits: output, labels: targets.whole, rows: output.count / columns, columns: columns,
                logitGradient: gradient.whole, loss: accumulator.slice(offset: 0, count: 1),
                correct: accumulator.slice(offset: 1, count: 1))
        } else {
            try device.mseLoss(
                output: output, target: targets.whole, outputGradient: gradient.whole,
                loss: accumulator.slice(offset: 0, count: 1))
        }
    }

    static func relativeError(_ x: [Float], _ reference: [Float]) -> Double { maxRelativeError(x, reference) }

    /// Three AdamW steps with the golden file's settings; the first uses the gradient the model
    /// holds, the others a new forward and backward pass each.
    static func threeAdamWSteps(
        _ model: GPT, _ golden: Golden, input: Buffer, rows: Int, targets: Buffer, gradient: Buffer, accumulator: Buffer
    ) throws {
        let device = model.device
        for step in 1...3 {
            if step > 1 {
                let output = try model.forward(input: input.whole, rows: rows)
                try loss(device, golden, output: output, targets: targets, gradient: gradient, accumulator: accumulator)
                try device.fill(model.gradients.whole, value: 0)
                try model.backward(input: input.whole, rows: rows, outputGradient: gradient.whole)
            }
            try device.adamW(
                golden.adamW, step: step, parameters: model.parameters.whole, gradients: model.gradients.whole,
                firstMoments: model.firstMoments.whole, secondMoments: model.secondMoments.whole)
        }
    }

    @Test(
        "logits, loss, every gradient and 3 AdamW steps match PyTorch (float64) on every device",
        arguments: ["gpt-tokens.safetensors", "gpt-real.safetensors"])
    func matchesPyTorch(name: String) throws {
        let golden = try Golden(name)
        for device in try TestDevices.all() {
            let model = try GPT(architecture: golden.architecture, costSettings: CostSettings(), device: device)
            try device.write(try golden.values(model, prefix: "param"), to: model.parameters.whole)
            let inputShape = try golden.shape("input")
            let input = try device.makeBuffer(try golden.tensor("input"))
            let targets = try device.makeBuffer(try golden.tensor("targets"))
            let rows = inputShape[0]
            let output = try model.forward(input: input.whole, rows: rows)
            let expected = try golden.tensor("output")
            #expect(Self.relativeError(try device.read(output), expected) < 2e-5, "\(name) output on \(device.name)")
            let gradient = try device.makeBuffer(count: output.count), accumulator = try device.makeBuffer(count: 2)
            try Self.loss(
                device, golden, output: output, targets: targets, gradient: gradient, accumulator: accumulator)
            let loss = try device.read(accumulator.whole)[0], expectedLoss = try golden.tensor("loss")[0]
            #expect(
                abs(loss - expectedLoss) < 1e-5 * max(1, abs(expectedLoss)), "\(name) loss \(loss) vs \(expectedLoss)")
            try device.fill(model.gradients.whole, value: 0)
            try model.backward(input: input.whole, rows: rows, outputGradient: gradient.whole)
            let gradients = try device.read(model.gradients.whole)
            for (tensor, view, _) in model.views.named(golden.architecture) {
                let reference = try golden.tensor("grad.\(tensor)")
                let error = Self.relativeError(Array(gradients[view.offset..<(view.offset + view.count)]), reference)
                #expect(error < 1e-4, "\(name) grad.\(tensor) on \(device.name): relative error \(error)")
            }
            // Three AdamW steps; the first uses the gradient above.
            try Self.threeAdamWSteps(
                model, golden, input: input, rows: rows, targets: targets, gradient: gradient, accumulator: accumulator)
            // Entries whose true gradient is 0 (the key bias: softmax ignores a per-row constant)
            // carry rounding noise of either sign, which Adam scales to a full step: skip them.
            let after = try device.read(model.parameters.whole),
                expectedAfter = try golden.values(model, prefix: "step3")
            let firstGradient = try golden.values(model, prefix: "grad")
            var worst = 0.0, compared = 0
            for i in after.indices where abs(firstGradient[i]) >= 1e-5 {
                worst = max(worst, abs(Double(after[i]) - Double(expectedAfter[i])))
                compared += 1
            }
            #expect(compared > after.count * 3 / 4)
            #expect(
                worst < 1e-4, "\(name) parameters after 3 AdamW steps on \(device.name): largest difference \(worst)")
        }
    }

    /// bf16 products (Tests/Golden/gpt-tokens-bf16.safetensors): against a float64 PyTorch
    /// model whose products round their operands to bf16 as bimt's do, closely; and against
    /// PyTorch's own autocast, loosely.
    ///
    /// Tolerances. Against the rounded reference the only differences are fp32 accumulation
    /// (about 1e-6) and the rare operand that fp32 and float64 round to neighbouring bf16
    /// values (2^-8 relative for that one operand, diluted in its sum): 2e-3 of the largest
    /// value. Autocast also rounds each product's result and attention's operands to bf16
    /// (2^-9 relative each, about ten such roundings in sequence in this model), which moves
    /// its output and gradients by up to about 1 % (measured: 0.5 % for the logits, 1.0 % for
    /// the first MLP's weight gradient): 3e-2 of the largest value, and 1e-3 for the loss.
    @Test("bf16 products: logits, loss, gradients and 3 AdamW steps against PyTorch, rounded and autocast")
    func bf16MatchesPyTorch() throws {
        var devices = [try TestDevices.bf16CPU()].compactMap { $0 }
        if TestDevices.runOpenCLTests {
            devices.append(try TestDevices.openCL())
            try devices.last!.setMatrixPrecision(.bf16)
        }
        for device in devices { try Self.bf16MatchesPyTorch(device) }
    }

    static func bf16MatchesPyTorch(_ device: Device) throws {
        let golden = try Golden("gpt-tokens-bf16.safetensors")
        let model = try GPT(architecture: golden.architecture, costSettings: CostSettings(), device: device)
        try device.write(try golden.values(model, prefix: "param"), to: model.parameters.whole)
        let rows = try golden.shape("input")[0]
        let input = try device.makeBuffer(try golden.tensor("input"))
        let targets = try device.makeBuffer(try golden.tensor("targets"))
        let output = try model.forward(input: input.whole, rows: rows)
        let logits = try device.read(output)
        #expect(Self.relativeError(logits, try golden.tensor("output")) < 2e-3, "logits on \(device.name)")
        #expect(Self.relativeError(logits, try golden.tensor("autocast.output")) < 3e-2, "logits against autocast")
        // The reference can tell: fp32 products land well away from it.
        let fp32 = Device.cpu()
        let plain = try GPT(architecture: golden.architecture, costSettings: CostSettings(), device: fp32)
        try fp32.write(try golden.values(plain, prefix: "param"), to: plain.parameters.whole)
        let fp32Logits = try fp32.read(
            try plain.forward(input: try fp32.makeBuffer(try golden.tensor("input")).whole, rows: rows))
        #expect(
            Self.relativeError(fp32Logits, try golden.tensor("output"))
                > 4 * Self.relativeError(logits, try golden.tensor("output")), "fp32 logits as close as bf16's")
        let gradient = try device.makeBuffer(count: output.count), accumulator = try device.makeBuffer(count: 2)
        try Self.loss(device, golden, output: output, targets: targets, gradient: gradient, accumulator: accumulator)
        let loss = Double(try device.read(accumulator.whole)[0])
        expectClose(loss, Double(try golden.tensor("loss")[0]), relative: 1e-4, "loss")
        expectClose(loss, Double(try golden.tensor("autocast.loss")[0]), relative: 1e-3, "loss against autocast")
        try device.fill(model.gradients.whole, value: 0)
        try model.backward(input: input.whole, rows: rows, outputGradient: gradient.whole)
        let gradients = try device.read(model.gradients.whole)
        for (tensor, view, _) in model.views.named(golden.architecture) {
            let mine = Array(gradients[view.offset..<(view.offset + view.count)])
            let rounded = Self.relativeError(mine, try golden.tensor("grad.\(tensor)"))
            let autocast = Self.relativeError(mine, try golden.tensor("autocast.grad.\(tensor)"))
            #expect(rounded < 2e-3, "grad.\(tensor) on \(device.name): relative error \(rounded)")
            #expect(autocast < 3e-2, "grad.\(tensor) against autocast: relative error \(autocast)")
        }
        try threeAdamWSteps(
            model, golden, input: input, rows: rows, targets: targets, gradient: gradient, accumulator: accumulator)
        let after = try device.read(model.parameters.whole), expected = try golden.values(model, prefix: "step3")
        let first = try golden.values(model, prefix: "grad")
        let worst = after.indices.filter { abs(first[$0]) >= 1e-4 }.map {
            abs(Double(after[$0]) - Double(expected[$0]))
        }
        .max()!
        // AdamW moves each parameter by about lr = 1e-2 per step whatever its gradient's size, so
        // a gradient 2e-3 off (relative to the largest) moves a small entry's step by a few
        // percent of it: 1e-3 is 3 % of three steps' movement (measured: 6e-4).
        #expect(worst < 1e-3, "parameters after 3 AdamW steps on \(device.name): largest difference \(worst)")
    }

    /// A small random GPT (tokens, every position) with its data on `device`.
    static func randomModel(_ device: Device, heads: Int = 2, last: Bool = false, seed: UInt64 = 5) throws -> (
        GPT, Buffer, Int
    ) {
        let architecture = TransformerArchitecture(
            layers: 2, width: 8, heads: heads, context: 6, vocabulary: 5, outputs: 5,
            mlpRatio: 2, lastPositionOnly: last)
        let model = try GPT(
            architecture: architecture, costSettings: CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean),
            device: device)
        var generator = SeededGenerator(seed: seed)
        try device.write(generator.uniform(model.parameterCount, -0.6, 0.6), to: model.parameters.whole)
        let rows = 3
        let tokens = (0..<(rows * 5)).map { _ in Float(Int.random(in: 0..<5, using: &generator)) }
        return (model, try device.makeBuffer(tokens), rows)
    }

    /// Checks `model`'s backward pass against central differences of a fixed random linear
    /// functional of its outputs (summed in double precision), along `trials` random
    /// directions; `restrict(trial)` limits a trial's direction to a parameter range.
    static func expectCentralDifferences(
        _ model: GPT, input: Buffer, rows: Int, trials: Int, label: String,
        restrict: (Int) -> Range<Int>? = { _ in nil },
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let device = model.device
        let base = try device.read(model.parameters.whole)
        let output = try model.forward(input: input.whole, rows: rows)
        var generator = SeededGenerator(seed: 77)
        let weights = generator.uniform(output.count)
        func loss(_ values: [Float]) throws -> Double {
            try device.write(values, to: model.parameters.whole)
            let out = try device.read(try model.forward(input: input.whole, rows: rows))
            return zip(out, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = try loss(base)
        try device.fill(model.gradients.whole, value: 0)
        try model.backward(input: input.whole, rows: rows, outputGradient: try device.makeBuffer(weights).whole)
        let gradient = try device.read(model.gradients.whole)
        for trial in 0..<trials {
            var direction = generator.uniform(base.count)
            if let keep = restrict(trial) { for i in direction.indices where !keep.contains(i) { direction[i] = 0 } }
            let epsilon: Float = 1e-2
            let plus = zip(base, direction).map { $0 + epsilon * $1 },
                minus = zip(base, direction).map { $0 - epsilon * $1 }
            let numeric = (try loss(plus) - loss(minus)) / (2 * Double(epsilon))
            let analytic = zip(gradient, direction).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            #expect(
                abs(numeric - analytic) <= 2e-3 * max(1, abs(analytic)),
                "\(label) trial \(trial): \(numeric) vs \(analytic)",
                sourceLocation: sourceLocation)
        }
    }

    @Test("the whole 2-layer model's gradient matches central differences along random directions")
    func finiteDifferences() throws {
        let (model, input, rows) = try Self.randomModel(Device.cpu())
        // Directions over all parameters, then over each tensor group of interest alone.
        try Self.expectCentralDifferences(model, input: input, rows: rows, trials: 4, label: "GPT") { trial in
            guard trial > 0 else { return nil }
            let block = model.views.blocks[trial % 2]
            return [block.qkvWeight, block.ln1Gain!, block.projWeight][trial - 1].range
        }
    }

    /// A random permutation of m units that moves whole blocks of b and then units inside each block.
    static func blockPermutation(_ m: Int, block b: Int?, _ generator: inout SeededGenerator) -> [Int] {
        guard let b else { return Array(0..<m).shuffled(using: &generator) }
        let blocks = Array(0..<(m / b)).shuffled(using: &generator)
        return blocks.flatMap { block in Array(0..<b).shuffled(using: &generator).map { block * b + $0 } }
    }

    @Test(
        "moving the residual stream, whole heads, dimensions within heads and MLP neurons keeps the function",
        arguments: [1, 2, 4])
    func relocationInvariance(heads: Int) throws {
        for device in try TestDevices.all() {
            let (model, input, rows) = try Self.randomModel(device, heads: heads)
            let before = try device.read(try model.forward(input: input.whole, rows: rows))
            var generator = SeededGenerator(seed: UInt64(heads))
            let network = model.network
            for group in network.groups where group.swappable {
                let m = network.layers[group.layers[0]].layout.slots
                let units = Self.blockPermutation(m, block: group.blockSize, &generator)
                try model.geometry.apply(units: units, group: group, buffers: [model.parameters.whole])
            }
            #expect(
                model.network.permutations[GPT.residualLayer(0)] != Array(0..<8),
                "the residual stream should have moved")
            let after = try device.read(try model.forward(input: input.whole, rows: rows))
            #expect(Self.relativeError(after, before) < 1e-5, "heads \(heads) on \(device.name)")
            // And the planner's own moves (greedy, then assignment) lower the cost and keep the function.
            for method in [RelocationMethod.greedy, .assignment] {
                let cost = try model.geometry.cost(parameters: model.parameters.whole)
                _ = try model.geometry.relocate(
                    parameters: model.parameters.whole, settings: RelocationSettings(method: method, topK: 8))
                #expect(try model.geometry.cost(parameters: model.parameters.whole) <= cost + 1e-6)
                let moved = try device.read(try model.forward(input: input.whole, rows: rows))
                #expect(Self.relativeError(moved, before) < 1e-5, "\(method), heads \(heads) on \(device.name)")
            }
        }
    }

    @Test("the residual stream is one swap group; q/k/v (folded 3 ways) and the attention output move by heads")
    func geometry() throws {
        let (model, _, _) = try Self.randomModel(Device.cpu(), heads: 2)
        let network = model.network
        let residual = network.groups.first { $0.layers.contains(GPT.residualLayer(0)) }!
        #expect(residual.layers == [1, 4, 6, 9, 11])
        #expect(
            residual.layers.map { network.layers[$0].name } == [
                "residual 0", "residual 1", "residual 2", "residual 3", "residual 4",
            ])
        let attention = network.groups.first { $0.layers.contains(2) }!
        #expect(attention.layers == [2, 3] && attention.blockSize == 4)
        #expect(network.layers[2].layout.folds == 3 && network.layers[2].layout.slots == 8)
        #expect(!network.groups.first { $0.layers == [0] }!.swappable)
        #expect(!network.groups.first { $0.layers == [network.layers.count - 1] }!.swappable)
    }

    @Test("bad input: heads that do not divide the width, sequences longer than the context, wrong sizes")
    func badInput() throws {
        let bad = TransformerArchitecture(layers: 1, width: 10, heads: 4, context: 4, vocabulary: 5, outputs: 5)
        #expect { try bad.validate() } throws: { "\($0)".contains("4 heads do not divide the width 10") }
        let both = TransformerArchitecture(
            layers: 1, width: 8, heads: 2, context: 4, vocabulary: 5, inputFeatures: 2, outputs: 5)
        #expect { try both.validate() } throws: { "\($0)".contains("exactly one of vocabulary") }
        let device = Device.cpu()
        let (model, _, _) = try Self.randomModel(device)
        let long = try device.makeBuffer([Float](repeating: 1, count: 2 * 7))
        #expect { _ = try model.forward(input: long.whole, rows: 2) } throws: {
            "\($0)".contains("longer than the model's context of 6")
        }
        let ragged = try device.makeBuffer([Float](repeating: 1, count: 7))
        #expect { _ = try model.forward(input: ragged.whole, rows: 2) } throws: { "\($0)".contains("not 2 sequences") }
    }

    /// The GPT's outputs at the predicted positions ([rows * predicted][scored outputs]) in
    /// double precision, written independently of the model's kernels: host loops over the
    /// flat parameter layout. `input` holds token ids or real features.
    static func referenceOutputs(
        _ a: TransformerArchitecture, _ views: GPT.Views, _ p: [Double], input: [Double], rows: Int
    ) -> [[Double]] {
        let d = a.width, length = input.count / rows / a.valuesPerPosition, heads = a.heads, hd = d / heads,
            hidden = a.mlpRatio * d
        func at(_ v: ParameterView, _ i: Int) -> Double { p[v.offset + i] }
        func linear(_ x: [Double], _ w: ParameterView, _ b: ParameterView?, rows count: Int? = nil) -> [Double] {
            (0..<(count ?? w.rows)).map { o in
                (0..<w.columns).reduce(b.map { at($0, o) } ?? 0) { $0 + at(w, o * w.columns + $1) * x[$1] }
            }
        }
        func norm(_ x: [Double], _ g: ParameterView?, _ b: ParameterView?) -> [Double] {
            guard let g, let b else { return x }
            let mean = x.reduce(0, +) / Double(x.count)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count)
            return x.indices.map { (x[$0] - mean) / (variance + 1e-5).squareRoot() * at(g, $0) + at(b, $0) }
        }
        func gelu(_ x: Double) -> Double { 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }
        var outputs: [[Double]] = []
        for r in 0..<rows {
            var h = (0..<length).map { t -> [Double] in
                let embedded: [Double]
                if a.vocabulary != nil {
                    embedded = (0..<d).map { at(views.embedWeight, Int(input[r * length + t]) * d + $0) }
                } else {
                    let f = a.valuesPerPosition, start = (r * length + t) * f
                    embedded = linear(Array(input[start..<(start + f)]), views.embedWeight, views.embedBias)
                }
                guard let positions = views.positions else { return embedded }
                return (0..<d).map { embedded[$0] + at(positions, t * d + $0) }
            }
            for b in views.blocks {
                let qkv = h.map { linear(norm($0, b.ln1Gain, b.ln1Bias), b.qkvWeight, b.qkvBias) }
                var attended = [[Double]](repeating: [Double](repeating: 0, count: d), count: length)
                for head in 0..<heads {
                    for t in 0..<length {
                        let scores = (0...t).map { s in
                            (0..<hd).reduce(0.0) { $0 + qkv[t][head * hd + $1] * qkv[s][d + head * hd + $1] }
                                / Double(hd).squareRoot()
                        }
                        let largest = scores.max()!, weights = scores.map { exp($0 - largest) },
                            total = weights.reduce(0, +)
                        for s in 0...t {
                            for i in 0..<hd {
                                attended[t][head * hd + i] += weights[s] / total * qkv[s][2 * d + head * hd + i]
                            }
                        }
                    }
                }
                h = h.indices.map { t in zip(h[t], linear(attended[t], b.projWeight, b.projBias)).map { $0 + $1 } }
                h = h.map { x in
                    let inner = linear(norm(x, b.ln2Gain, b.ln2Bias), b.fcWeight, b.fcBias).map(gelu)
                    precondition(inner.count == hidden)
                    return zip(x, linear(inner, b.mlpProjWeight, b.mlpProjBias)).map { $0 + $1 }
                }
            }
            for t in a.predictedPositions(length: length) {
                outputs.append(
                    linear(
                        norm(h[t], views.finalGain, views.finalBias), views.headWeight, views.headBias,
                        rows: a.scoredOutputs))
            }
        }
        return outputs
    }

    /// The mean cross-entropy of the reference outputs against `labels`.
    static func referenceLoss(
        _ a: TransformerArchitecture, _ views: GPT.Views, _ p: [Double], tokens: [Int], labels: [Int],
        rows: Int
    ) -> Double {
        let outputs = referenceOutputs(a, views, p, input: tokens.map(Double.init), rows: rows)
        return zip(outputs, labels).reduce(0.0) { total, pair in
            let (logits, label) = pair, largest = logits.max()!
            return total + log(logits.reduce(0) { $0 + exp($1 - largest) }) + largest - logits[label]
        } / Double(outputs.count)
    }

    @Test("attention, LayerNorm and the whole 2-layer model: gradients match double-precision central differences")
    func doublePrecisionFiniteDifferences() throws {
        for device in try TestDevices.all() {
            let (model, input, rows) = try Self.randomModel(device, heads: 2)
            let tokens = try device.read(input.whole).map { Int($0) }
            var generator = SeededGenerator(seed: 31)
            let labels = tokens.map { _ in Int.random(in: 0..<5, using: &generator) }
            let output = try model.forward(input: input.whole, rows: rows)
            let gradient = try device.makeBuffer(count: output.count), accumulator = try device.makeBuffer([0, 0])
            try device.crossEntropy(
                logits: output, labels: try device.makeBuffer(labels.map(Float.init)).whole, rows: output.count / 5,
                columns: 5, logitGradient: gradient.whole, loss: accumulator.slice(offset: 0, count: 1),
                correct: accumulator.slice(offset: 1, count: 1))
            try device.fill(model.gradients.whole, value: 0)
            try model.backward(input: input.whole, rows: rows, outputGradient: gradient.whole)
            let analytic = try device.read(model.gradients.whole)
            var parameters = try device.read(model.parameters.whole).map(Double.init)
            let a = model.architecture, views = model.views
            let reference = Self.referenceLoss(a, views, parameters, tokens: tokens, labels: labels, rows: rows)
            let loss = Double(try device.read(accumulator.whole)[0])
            #expect(abs(reference - loss) < 1e-5 * max(1, reference), "loss on \(device.name): \(loss) vs \(reference)")
            // Entries from every kind of tensor: embeddings, LN gains/biases, q/k/v (attention), projections,
            // MLP, head.
            let block = views.blocks[0], last = views.blocks[1]
            let tensors = [
                views.embedWeight, views.positions!, block.ln1Gain!, block.ln1Bias!, block.qkvWeight, block.qkvBias,
                block.projWeight, block.ln2Gain!, block.fcWeight, block.mlpProjWeight, last.qkvWeight, last.fcBias,
                views.finalGain!, views.finalBias!, views.headWeight, views.headBias,
            ]
            for tensor in tensors {
                for _ in 0..<3 {
                    let i = tensor.offset + Int.random(in: 0..<tensor.count, using: &generator)
                    let saved = parameters[i], h = 1e-5
                    parameters[i] = saved + h
                    let plus = Self.referenceLoss(a, views, parameters, tokens: tokens, labels: labels, rows: rows)
                    parameters[i] = saved - h
                    let minus = Self.referenceLoss(a, views, parameters, tokens: tokens, labels: labels, rows: rows)
                    parameters[i] = saved
                    let numeric = (plus - minus) / (2 * h)
                    #expect(
                        abs(numeric - Double(analytic[i])) < 2e-4 + 1e-3 * abs(numeric),
                        "parameter \(i) on \(device.name): \(numeric) vs \(analytic[i])")
                }
            }
        }
    }

    @Test(
        """
        the in-context shape (real inputs, no LayerNorm, no positions, every other position, 1 of 2 outputs): \
        MSE gradients match double-precision central differences
        """
    )
    func inContextShapeFiniteDifferences() throws {
        let architecture = TransformerArchitecture(
            layers: 2, width: 8, heads: 1, context: 5, inputFeatures: 2, outputs: 2, mlpRatio: 2,
            predictionStride: 2, predictedOutputs: 1, layerNorm: false, positionalEmbedding: false)
        for device in try TestDevices.all() {
            let model = try GPT(
                architecture: architecture, costSettings: CostSettings(weightFactor: 2, l0: 0.5, reduction: .mean),
                device: device)
            let views = model.views
            #expect(views.positions == nil && views.finalGain == nil && views.blocks[0].ln1Gain == nil)
            #expect(model.network.neuronParameters.isEmpty && model.network.embeddingTables.isEmpty)
            var generator = SeededGenerator(seed: 8)
            try device.write(generator.uniform(model.parameterCount, -0.6, 0.6), to: model.parameters.whole)
            let rows = 3, length = 5
            let input = generator.uniform(rows * length * 2, -1, 1)
            let targets = generator.uniform(rows * 3, -1, 1) // positions 0, 2, 4
            let output = try model.forward(input: try device.makeBuffer(input).whole, rows: rows)
            #expect(output.count == rows * 3)
            let gradient = try device.makeBuffer(count: output.count), accumulator = try device.makeBuffer([0])
            try device.mseLoss(
                output: output, target: try device.makeBuffer(targets).whole, outputGradient: gradient.whole,
                loss: accumulator.whole)
            try device.fill(model.gradients.whole, value: 0)
            try model.backward(input: try device.makeBuffer(input).whole, rows: rows, outputGradient: gradient.whole)
            let analytic = try device.read(model.gradients.whole)
            var parameters = try device.read(model.parameters.whole).map(Double.init)
            func loss() -> Double {
                let outputs = Self.referenceOutputs(
                    architecture, views, parameters, input: input.map(Double.init), rows: rows)
                return zip(outputs, targets).reduce(0.0) { $0 + pow($1.0[0] - Double($1.1), 2) } / Double(targets.count)
            }
            let reference = loss()
            expectClose(
                Double(try device.read(accumulator.whole)[0]), reference, relative: 1e-5, "loss on \(device.name)")
            let block = views.blocks[0], last = views.blocks[1]
            for tensor in [
                views.embedWeight, views.embedBias!, block.qkvWeight, block.qkvBias, block.projWeight, block.fcWeight,
                block.mlpProjBias, last.qkvWeight, last.mlpProjWeight, views.headWeight, views.headBias,
            ] {
                for _ in 0..<3 {
                    let i = tensor.offset + Int.random(in: 0..<tensor.count, using: &generator)
                    let saved = parameters[i], h = 1e-5
                    parameters[i] = saved + h
                    let plus = loss()
                    parameters[i] = saved - h
                    let minus = loss()
                    parameters[i] = saved
                    let numeric = (plus - minus) / (2 * h)
                    #expect(
                        abs(numeric - Double(analytic[i])) < 2e-4 + 1e-3 * abs(numeric),
                        "parameter \(i) on \(device.name): \(numeric) vs \(analytic[i])")
                }
            }
            // The unscored output's head row gets no task gradient.
            let unscored = views.headWeight.offset + views.headWeight.columns
            #expect(
                analytic[unscored..<(unscored + views.headWeight.columns)].allSatisfy { $0 == 0 }
                    && analytic[views.headBias.offset + 1] == 0)
        }
    }
}
