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
let data = try TaskData(name: "two products", train: try split(256, "train", &generator), test: try split(256, "test", &generator),
                        inputNames: ["x1", "x2", "x3", "x4"], outputNames: ["x1*x2", "cos(2x3)+x4"])

// The paper's symbolic-formula settings (cost, lambda schedule, swaps), on our own shape.
var configuration = try TrainingConfiguration.preset("independence")
configuration.preset = nil
configuration.architecture = MLPArchitecture(widths: [4, 16, 16, 2], activation: .silu)
configuration.steps = 10000

let trainer = try Trainer(configuration: configuration, data: data, device: try Device.open(.automatic).device, runDirectory: nil)
try trainer.run(progress: { metrics in
    if metrics.step % 2000 == 0 { print("step \(metrics.step): train loss \(metrics.trainLoss), test loss \(metrics.testLoss)") }
})

let report = try Analysis.analyze(trainer)
print("after pruning: \(report.modules.count) module(s), test loss \(report.lossAfter)")
for module in report.modules { print("  \(module.inputs) -> \(module.outputs)") }

let picture = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "custom-mlp.svg")
try NetworkRenderer.svg(trainer).write(to: picture, atomically: true, encoding: .utf8)
print("picture: \(picture.path)")
