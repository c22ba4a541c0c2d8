// swift-tools-version:6.1
// The benchmark suite (package-benchmark), kept out of the main package so its build stays
// fast. Run from this folder: swift package benchmark  (or ../scripts/bench, which also
// prints the results table in docs/PERFORMANCE.md).
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "bimt-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .systemLibrary(name: "CBaselineBLAS", path: "Sources/CBaselineBLAS", pkgConfig: "openblas"),
        // CLBlast (Debian libclblast-dev) on the same OpenCL device: the OpenCL GEMM baseline.
        .target(
            name: "CBaselineCLBlast", path: "Sources/CBaselineCLBlast",
            linkerSettings: [.linkedLibrary("clblast"), .linkedLibrary("OpenCL")]),
        .executableTarget(
            name: "BIMTBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BIMT", package: root.lowercased()),
                .product(name: "BIMTCompute", package: root.lowercased()),
                "CBaselineBLAS",
                "CBaselineCLBlast",
            ],
            path: "Benchmarks/BIMTBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
