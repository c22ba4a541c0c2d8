import BIMTCompute
import Foundation
import Testing
import TestSupport

@Suite("Swap scores")
struct SwapScoreTests {
    @Test("OpenCL swap scores, swap deltas and unit sums match the CPU path on odd sizes", requiresOpenCL)
    func openCLMatchesCPU() throws {
        let cpu = Device.cpu()
        // tiled: the GPU-shaped kernels (simple swap_scores); vector: the CPU-device ones.
        for variant in [GemmVariant.tiled, .vector] {
            try compare(cpu, try Device.open(.anyOpenCL, gemmVariant: variant).device)
        }
    }

    func compare(_ cpu: Device, _ opencl: Device) throws {
        var generator = SeededGenerator(seed: 8)
        for metric in DistanceMetric.allCases {
            // Swap scores of a folded layer (13 units x 3 folds), incoming and outgoing.
            let (units, folds, others) = (13, 3, 29)
            let wIn = generator.uniform(units * folds * others), slots = generator.uniform(2 * units, 0, 1)
            let otherCoordinates = generator.uniform(2 * others, 0, 1)
            var scores: [[Float]] = []
            for device in [cpu, opencl] {
                let c = try device.makeBuffer(count: units * units), w = try device.makeBuffer(wIn)
                let s = try device.makeBuffer(slots), o = try device.makeBuffer(otherCoordinates)
                try device.swapScores(
                    SwapScorePass(
                        units: units, folds: folds, otherCount: others, rowStride: others,
                        otherStride: 1, scale: 0.5, metric: metric, accumulate: false),
                    weights: w.whole, slotCoordinates: s.whole, otherCoordinates: o.whole,
                    scores: c.whole)
                try device.swapScores(
                    SwapScorePass(
                        units: units, folds: folds, otherCount: others, rowStride: 1,
                        otherStride: units * folds, scale: 2, metric: metric,
                        accumulate: true),
                    weights: w.whole, slotCoordinates: s.whole, otherCoordinates: o.whole,
                    scores: c.whole)
                let d = try device.makeBuffer(count: units * units), sums = try device.makeBuffer(count: units)
                try device.swapDeltas(scores: c.whole, units: units, deltas: d.whole)
                try device.unitAbsoluteSums(
                    SwapScorePass(
                        units: units, folds: folds, otherCount: others,
                        rowStride: others,
                        otherStride: 1, scale: 1, accumulate: false),
                    weights: w.whole, sums: sums.whole)
                scores.append(try device.read(c.whole) + device.read(d.whole) + device.read(sums.whole))
            }
            #expect(maxRelativeError(scores[1], scores[0]) < 1e-5, "swap scores \(metric)")
        }
    }

    @Test("mismatched operands are thrown errors")
    func badInput() throws {
        let device = Device.cpu()
        #expect(throws: ComputeError.self) {
            try device.swapScores(
                SwapScorePass(
                    units: 4, folds: 1, otherCount: 4, rowStride: 4, otherStride: 1,
                    scale: 1, accumulate: false),
                weights: try device.makeBuffer(count: 15).whole,
                slotCoordinates: try device.makeBuffer(count: 8).whole,
                otherCoordinates: try device.makeBuffer(count: 8).whole,
                scores: try device.makeBuffer(count: 16).whole)
        }
    }
}
