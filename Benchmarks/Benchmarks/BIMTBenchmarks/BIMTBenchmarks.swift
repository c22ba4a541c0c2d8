// bimt's benchmark suite: GEMM per device against OpenBLAS called directly (and CLBlast on
// the OpenCL device), the connection-cost pass, swap scores, greedy and assignment relocation,
// and one training step per preset family. Pairs named "... bimt" and "... OpenBLAS" /
// "... CLBlast" are the figure and its baselines.
import BIMT
import BIMTCompute
import Benchmark
import CBaselineBLAS
import CBaselineCLBlast
import Foundation

nonisolated(unsafe) let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal], warmupIterations: 2,
        scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 200)
    let cpu = Device.cpu()
    let opencl = try? Device.open(.anyOpenCL).device
    let devices: [(String, Device)] = [("cpu", cpu)] + (opencl.map { [("opencl", $0)] } ?? [])

    // GEMM per device, and OpenBLAS itself on the same operands. Each takes one untimed product when it is set up,
    // as `bimt bench gemm` takes one (building the OpenCL kernel) and clblast_baseline_create one for CLBlast (building
    // its kernels); then package-benchmark's warm-up iterations, the same number for all.
    for n in [256, 512, 1024] {
        var generator = SeededGenerator(seed: 1)
        let a = generator.uniform(n * n), b = generator.uniform(n * n)
        for (label, device) in devices {
            let da = try! device.makeBuffer(a), db = try! device.makeBuffer(b),
                dc = try! device.makeBuffer(count: n * n)
            try! device.gemm(GemmOperation(m: n, n: n, k: n), a: da.whole, b: db.whole, c: dc.whole)
            try! device.synchronize()
            Benchmark("GEMM \(n) \(label) bimt") { benchmark in
                for _ in benchmark.scaledIterations {
                    try device.gemm(GemmOperation(m: n, n: n, k: n), a: da.whole, b: db.whole, c: dc.whole)
                    try device.synchronize()
                }
            }
        }
        if opencl != nil, let baseline = clblast_baseline_create(Int32(n)) {
            let shared = UncheckedBaseline(baseline)
            Benchmark("GEMM \(n) opencl CLBlast") { benchmark in
                for _ in benchmark.scaledIterations {
                    guard clblast_baseline_run(shared.pointer) == 0 else { fatalError("CLBlastSgemm failed") }
                }
            }
        }
        var c = [Float](repeating: 0, count: n * n)
        openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n),
            b, Int32(n), 0, &c, Int32(n))
        openblas_set_num_threads(1)
        Benchmark("GEMM \(n) cpu OpenBLAS") { benchmark in
            // OpenBLAS's own threading over every core (bimt's CPU path sets it to 1 and splits itself).
            openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
            defer { openblas_set_num_threads(1) }
            for _ in benchmark.scaledIterations {
                cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b,
                    Int32(n), 0, &c, Int32(n))
            }
        }
    }

    // BIMT kernels on the paper's image network.
    for (label, device) in devices {
        let network = try! MLPArchitecture(widths: [784, 100, 100, 10], layout: .grid).spatialNetwork(swapInputs: false)
        let initial = network.initialParameters(seed: 1)
        let parameters = try! device.makeBuffer(initial)
        let gradient = try! device.makeBuffer([Float](repeating: 0, count: initial.count)),
            cost = try! device.makeBuffer([0])
        let geometry = try! SpatialGeometry(network: network, settings: BIMTBenchmark.settings, device: device)
        Benchmark("connection-cost pass 784-100-100-10 \(label)") { benchmark in
            for _ in benchmark.scaledIterations {
                try geometry.connectionCost(
                    parameters: parameters.whole, gradient: gradient.whole, lambda: 1e-3, cost: cost.whole)
                try device.synchronize()
            }
        }
        Benchmark("swap scores 784-100-100-10 \(label)") { benchmark in
            for _ in benchmark.scaledIterations {
                for group in network.groups where group.swappable {
                    _ = try geometry.scoreGroup(group, parameters: parameters.whole)
                }
            }
        }
        for method in [RelocationMethod.greedy, .assignment] {
            // One relocation per run of the closure; the fresh geometry and weights are set-up.
            Benchmark("\(method) relocation 784-100-100-10 \(label)") { benchmark in
                let local = try SpatialGeometry(network: network, settings: BIMTBenchmark.settings, device: device)
                try device.write(initial, to: parameters.whole)
                try device.synchronize()
                benchmark.startMeasurement()
                _ = try local.relocate(
                    parameters: parameters.whole, settings: RelocationSettings(method: method, topK: 30))
                try device.synchronize()
                benchmark.stopMeasurement()
            }
        }
    }

    // One training step per preset family (MLP, image MLP, conv net, transformer).
    for preset in ["independence", "modadd", "mnist", "convnet", "modadd-seq", "gpt-bench"] {
        for (label, device) in devices {
            guard
                let trainer = try? Trainer(
                    configuration: try! TrainingConfiguration.preset(preset), device: device, runDirectory: nil)
            else { continue } // mnist/convnet need dataset-fashion-mnist
            Benchmark(
                "train step \(preset) \(label)", configuration: .init(maxDuration: .seconds(3), maxIterations: 100)
            ) { benchmark in
                for _ in benchmark.scaledIterations {
                    try trainer.trainStep()
                    try device.synchronize()
                }
            }
        }
    }
}

/// The CLBlast baseline's handle, used by one benchmark at a time (it lives to the process's end).
struct UncheckedBaseline: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
