import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Connection cost")
struct ConnectionCostTests {
    @Test("OpenCL connection cost and its gradient match the CPU path on odd sizes", requiresOpenCL)
    func openCLMatchesCPU() throws {
        let cpu = Device.cpu()
        for variant in [GemmVariant.tiled, .vector] {
            try compare(cpu, try Device.open(.anyOpenCL, gemmVariant: variant).device)
        }
    }

    func compare(_ cpu: Device, _ opencl: Device) throws {
        var generator = SeededGenerator(seed: 8)
        let (rows, columns) = (37, 129)
        let weights = generator.uniform(rows * columns), prior = generator.uniform(rows * columns)
        let co = generator.uniform(2 * rows, 0, 1), ci = generator.uniform(2 * columns, 0, 1)
        for metric in DistanceMetric.allCases {
            let pass = ConnectionCostPass(
                rows: rows, columns: columns, weightFactor: 2, l0: 0.5,
                costScale: 1 / Float(rows * columns), gradientScale: 0.1, metric: metric)
            var results: [[Float]] = []
            for device in [cpu, opencl] {
                let g = try device.makeBuffer(prior), cost = try device.makeBuffer([0.25])
                try device.connectionCost(
                    pass, weights: try device.makeBuffer(weights).whole, gradient: g.whole,
                    outCoordinates: try device.makeBuffer(co).whole,
                    inCoordinates: try device.makeBuffer(ci).whole, cost: cost.whole)
                results.append(try device.read(cost.whole) + device.read(g.whole))
            }
            #expect(maxRelativeError(results[1], results[0]) < 1e-5, "connection cost \(metric)")
        }
    }

    @Test("mismatched operands are thrown errors")
    func badInput() throws {
        let device = Device.cpu()
        let w = try device.makeBuffer(count: 12), c = try device.makeBuffer(count: 1)
        let pass = ConnectionCostPass(rows: 3, columns: 4, weightFactor: 1, l0: 0, costScale: 1, gradientScale: 1)
        #expect(throws: ComputeError.self) {
            try device.connectionCost(
                pass, weights: w.whole, gradient: nil,
                outCoordinates: try device.makeBuffer(count: 5).whole,
                inCoordinates: try device.makeBuffer(count: 8).whole, cost: c.whole)
        }
    }
}
