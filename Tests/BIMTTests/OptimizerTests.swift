import BIMT
import BIMTCompute
import Foundation
import TestSupport
import Testing

/// The language-model loop's optimizer: warmup-cosine schedule, global-norm clipping on the
/// device, weight decay on matrices only, gradient accumulation.
@Suite("Optimizer and training loop") struct OptimizerTests {
    @Test("the squared norm and clipped, masked AdamW match a double-precision reference", arguments: TestDevices.names)
    func clippedMaskedAdamW(device name: String) throws {
        let device = try TestDevices.named(name)
        var generator = SeededGenerator(seed: 5)
        let n = 70_001 // several work-groups, a ragged tail
        let p = generator.uniform(n), g = generator.uniform(n).map { $0 * 3 }, m = generator.uniform(n).map { $0 * 0.1 }
        let v = generator.uniform(n).map { $0 * $0 * 0.01 }
        let mask = (0..<n).map { Float(($0 / 7) % 2) }
        let gradients = try device.makeBuffer(g), norm = try device.makeBuffer(count: 1)
        try device.squaredNorm(gradients.whole, into: norm.whole)
        let squared = g.reduce(0.0) { $0 + Double($1) * Double($1) }
        // expectClose scales its tolerance by the expected magnitude (here about 2e5): 1e-5 relative.
        expectClose(try device.read(norm.whole), [squared], tolerance: 1e-5, "squared norm")

        let h = AdamWHyperparameters(learningRate: 1e-2, beta1: 0.8, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.3)
        let parameters = try device.makeBuffer(p), first = try device.makeBuffer(m), second = try device.makeBuffer(v)
        let maskBuffer = try device.makeBuffer(mask)
        let step = 3, maximumNorm: Float = 10
        try device.adamW(
            h, step: step, parameters: parameters.whole, gradients: gradients.whole, firstMoments: first.whole,
            secondMoments: second.whole, clipping: GradientClipping(maximumNorm: maximumNorm, normSquared: norm.whole),
            decayMask: maskBuffer.whole)
        // PyTorch: clip_grad_norm_ (total_norm + 1e-6), then AdamW with decay where the mask is 1.
        let scale = min(1, Double(maximumNorm) / (squared.squareRoot() + 1e-6))
        #expect(scale < 0.1) // the clip is active
        let c1 = 1 - pow(0.8, Double(step)), c2 = 1 - pow(0.95, Double(step))
        var expected = [Double](repeating: 0, count: n), expectedM = expected, expectedV = expected
        for i in 0..<n {
            let grad = Double(g[i]) * scale
            expectedM[i] = 0.8 * Double(m[i]) + 0.2 * grad
            expectedV[i] = 0.95 * Double(v[i]) + 0.05 * grad * grad
            let decayed = Double(p[i]) * (1 - 1e-2 * 0.3 * Double(mask[i]))
            expected[i] = decayed - 1e-2 * (expectedM[i] / c1) / ((expectedV[i] / c2).squareRoot() + 1e-8)
        }
        expectClose(try device.read(parameters.whole), expected, tolerance: 2e-6, "parameters")
        expectClose(try device.read(first.whole), expectedM, tolerance: 1e-6, "first moments")
        expectClose(try device.read(second.whole), expectedV, tolerance: 1e-6, "second moments")
    }

    @Test("without clipping or a mask, AdamW is bit for bit the plain step")
    func plainStepUnchanged() throws {
        for device in try TestDevices.all() {
            var generator = SeededGenerator(seed: 9)
            let n = 5000, p = generator.uniform(n), g = generator.uniform(n)
            let h = AdamWHyperparameters(learningRate: 1e-3, weightDecay: 0.1)
            func run(_ mask: [Float]?) throws -> [Float] {
                let parameters = try device.makeBuffer(p), gradients = try device.makeBuffer(g)
                let first = try device.makeBuffer(count: n), second = try device.makeBuffer(count: n)
                try device.fill(first.whole, value: 0)
                try device.fill(second.whole, value: 0)
                let maskBuffer = try mask.map { try device.makeBuffer($0) }
                try device.adamW(
                    h, step: 1, parameters: parameters.whole, gradients: gradients.whole, firstMoments: first.whole,
                    secondMoments: second.whole, decayMask: maskBuffer?.whole)
                return try device.read(parameters.whole)
            }
            #expect(try run(nil) == run([Float](repeating: 1, count: n)), "\(device.name)")
        }
    }

    @Test("the schedule is nanoGPT's: linear warmup, cosine to the minimum, flat after")
    func schedule() {
        let schedule = LearningRateSchedule(warmupSteps: 10, minimumLearningRate: 1e-4, decaySteps: 110)
        func rate(_ step: Int) -> Double { Double(schedule.learningRate(at: step, peak: 1e-3, steps: 200)) }
        expectClose(rate(0), 1e-3 / 11, relative: 1e-6, "first warmup step")
        expectClose(rate(9), 1e-3 * 10 / 11, relative: 1e-6, "last warmup step")
        expectClose(rate(10), 1e-3, relative: 1e-6, "peak")
        expectClose(rate(60), 1e-4 + 0.5 * 9e-4, relative: 1e-6, "half way down")
        expectClose(rate(110), 1e-4, relative: 1e-6, "end of the decay")
        expectClose(rate(150), 1e-4, relative: 1e-6, "after the decay")
        let options = TrainingOptions(
            loss: .mse, steps: 200, learningRate: 1e-3, lambda: 0, learningRateSchedule: schedule)
        #expect(options.learningRate(at: 60) == schedule.learningRate(at: 60, peak: 1e-3, steps: 200))
    }

    @Test(
        "4 micro-batches of 8 take the same step, and log the same loss and accuracy, as one batch of 32",
        arguments: TestDevices.names)
    func accumulation(device name: String) throws {
        let device = try TestDevices.named(name)
        var logged: [Int: TrainingMetrics] = [:]
        func parameters(_ preset: String, _ parts: Int, adjust: (inout TrainingConfiguration) -> Void = { _ in }) throws
            -> [Float]
        {
            var configuration = try TrainingConfiguration.preset(preset)
            configuration.batchSize = 32
            configuration.accumulationSteps = parts
            configuration.steps = 5
            configuration.relocation.method = .off
            adjust(&configuration)
            configuration.logEvery = 5
            let trainer = try Trainer(configuration: configuration, device: device, runDirectory: nil)
            logged[parts] = try trainer.run()
            return try device.read(trainer.model.parameters.whole)
        }
        for (preset, adjust) in [
            ("independence", { (_: inout TrainingConfiguration) in }),
            (
                "modadd-seq",
                { (c: inout TrainingConfiguration) in
                    c.task = .modularAdditionSequence(modulus: 11)
                    c.model = .transformer(
                        TransformerArchitecture(
                            layers: 1, width: 16, heads: 2, context: 3, vocabulary: 12,
                            outputs: 11, lastPositionOnly: true))
                }
            ),
        ] {
            let whole = try parameters(preset, 1, adjust: adjust), parts = try parameters(preset, 4, adjust: adjust)
            expectClose(parts, whole, tolerance: 2e-5, "\(preset): 4 x 8 against 32")
            let (one, four) = (try #require(logged[1]), try #require(logged[4]))
            expectClose(four.trainLoss, one.trainLoss, relative: 1e-5, "\(preset): the logged training loss")
            #expect(four.trainAccuracy == one.trainAccuracy, "\(preset): the logged training accuracy")
            #expect(
                parts
                    != (try parameters(preset, 1) {
                        adjust(&$0); $0.batchSize = 8
                    }), "\(preset): a batch of 8 differs")
        }
    }

    @Test("weight decay on matrices covers exactly the tensors of rank 2 or more")
    func matrixRanges() throws {
        for preset in ["independence", "modadd", "modadd-seq", "incontext"] {
            let configuration = try TrainingConfiguration.preset(preset)
            let model = try configuration.model.makeModel(
                cost: configuration.cost, relocationCost: configuration.relocationCost,
                swapInputs: true, device: Device.cpu())
            let exported = model.exportTensors([Float](repeating: 0, count: model.parameterCount))
            let matrices = exported.filter { $0.shape.count >= 2 }.reduce(0) { $0 + $1.shape.reduce(1, *) }
            let ranges = model.matrixRanges
            #expect(ranges.reduce(0) { $0 + $1.count } == matrices, "\(preset)")
            #expect(Set(ranges.flatMap { Array($0) }).count == matrices, "\(preset): ranges overlap")
        }
        let convolution = ConvNetArchitecture(imageHeight: 8, imageWidth: 8, imageChannels: 1, channels: [4])
        let conv = try ConvNet(
            convolution: convolution, head: MLPArchitecture(widths: [convolution.flattenedWidth, 10]),
            costSettings: CostSettings(), device: Device.cpu())
        let exported = conv.exportTensors([Float](repeating: 0, count: conv.parameterCount))
        #expect(
            conv.matrixRanges.reduce(0) { $0 + $1.count }
                == exported.filter { $0.shape.count >= 2 }.reduce(0) { $0 + $1.shape.reduce(1, *) })

        // One step with decay on matrices only against one with decay everywhere, from the same start:
        // matrices come out equal, biases differ by their decay.
        var options = TrainingOptions(loss: .mse, steps: 1, learningRate: 1e-2, weightDecay: 0.5, lambda: 0)
        options.relocation.method = .off
        func step(_ scope: WeightDecayScope) throws -> (MLP, [Float]) {
            let model = try MLP(
                architecture: MLPArchitecture(widths: [4, 6, 2]), costSettings: CostSettings(), device: Device.cpu())
            try model.initialize(seed: 2)
            var o = options
            o.weightDecayScope = scope
            let trainer = try Trainer(model: model, data: try Tasks.symbolic(.independence, seed: 1), options: o)
            try trainer.run()
            return (model, try model.device.read(model.parameters.whole))
        }
        let (model, matricesOnly) = try step(.matrices), (_, everywhere) = try step(.all)
        let inMatrix = Set(model.matrixRanges.flatMap { Array($0) })
        for i in 0..<model.parameterCount {
            if inMatrix.contains(i) {
                #expect(matricesOnly[i] == everywhere[i])
            } else {
                #expect(matricesOnly[i] != everywhere[i])
            }
        }
    }

    @Test(
        "a warmup longer than the run, micro-batches that do not divide the batch, bad betas: refused, naming the field"
    )
    func badOptions() throws {
        func field(_ change: (inout TrainingConfiguration.Overrides) -> Void) -> String? {
            var o = TrainingConfiguration.Overrides()
            change(&o)
            do { _ = try TrainingConfiguration.preset("modadd-seq").applying(o) } catch let BIMTError.invalidField(
                field, _)
            { return field } catch {
                return "other: \(error)"
            }
            return nil
        }
        #expect(field { $0.warmupSteps = 5000 } == "learningRateSchedule.warmupSteps")
        #expect(field { $0.minimumLearningRate = 1 } == "learningRateSchedule.minimumLearningRate")
        #expect(field { $0.accumulationSteps = 3 } == "accumulationSteps")
        #expect(field { $0.beta2 = 1 } == "beta2")
        #expect(field { $0.gradientClip = 0 } == "gradientClip")
        #expect(
            field {
                $0.warmupSteps = 100; $0.accumulationSteps = 4; $0.gradientClip = 1
            } == nil)
        var o = TrainingConfiguration.Overrides()
        o.warmupSteps = 100
        o.weightDecayScope = .matrices
        o.beta2 = 0.99
        let configuration = try TrainingConfiguration.preset("modadd-seq").applying(o)
        #expect(
            configuration.learningRateSchedule
                == LearningRateSchedule(warmupSteps: 100, minimumLearningRate: configuration.learningRate / 10))
        let decoded = try JSONDecoder().decode(TrainingConfiguration.self, from: JSONEncoder().encode(configuration))
        #expect(decoded == configuration)
    }
}
