// Trains a custom MLP with BIMT on data made in memory, reports its modules, draws it.
// y1 = x1 * x2 and y2 = cos(2 x3) + x4: BIMT should find two separate modules.
import BIMT
import BIMTCompute
import Foundation

func split(_ count: Int, _ name: String, _ generator: inout SeededGenerator) throws -> Dataset {
    var inputs: [Float] = [], targets: [Float] = []
    for _ in 0..<count {
        let x = (0..<4).map { _ in Float.random(in: -1...1, using: &generator) }
        inputs += x
        targets += [x[0] * x[1], cos(2 * x[2]) + x[3]]
    }
    return try Dataset(inputs: inputs, inputWidth: 4, targets: .regression(values: targets, width: 2), name: name)
}

var generator = SeededGenerator(seed: 7)
let data = try TaskData(
    name: "two products", train: try split(256, "train", &generator), test: try split(256, "test", &generator),
    inputNames: ["x1", "x2", "x3", "x4"], outputNames: ["x1*x2", "cos(2x3)+x4"])

// The model: 4-16-16-2 on a line layout, with the paper's symbolic-formula connection cost.
let device = try Device.open(.automatic).device
let model = try MLP(
    architecture: MLPArchitecture(widths: [4, 16, 16, 2], activation: .silu),
    costSettings: CostSettings(weightFactor: 1, l0: 0.1, reduction: .sum), device: device)
try model.initialize(seed: 1)

// How to train it: lambda 1e-3, x10 at a quarter of the run, x0.1 at three quarters; greedy swaps every 200 steps.
let options = TrainingOptions(
    loss: .mse, steps: 10000, learningRate: 2e-3, lambda: 1e-3,
    lambdaSchedule: [LambdaChange(fraction: 0.25, factor: 10), LambdaChange(fraction: 0.75, factor: 0.1)],
    relocation: RelocationSettings(method: .greedy, topK: 5), swapEvery: 200, logEvery: 2000)

let trainer = try Trainer(model: model, data: data, options: options)
try trainer.run(progress: { print("step \($0.step): train loss \($0.trainLoss), test loss \($0.testLoss)") })

let report = try Analysis.analyze(trainer)
print("after pruning: \(report.modules.count) module(s), test loss \(report.lossAfter)")
for module in report.modules { print("  \(module.inputs) -> \(module.outputs)") }

let picture = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "custom-mlp.svg")
try NetworkRenderer.svg(model: model, names: trainer.neuronNames).write(to: picture, atomically: true, encoding: .utf8)
print("picture: \(picture.path)")
