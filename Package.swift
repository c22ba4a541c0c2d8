// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "bimt",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bimt", targets: ["bimt"]),
        .library(name: "BIMTCompute", targets: ["BIMTCompute"]),
        .library(name: "BIMT", targets: ["BIMT"]),
    ],
    dependencies: [
        // Pinned exactly (this project commits no Package.resolved: its revision ids would be the
        // local package mirror's, not the upstream ones).
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2")
    ],
    targets: [
        // MARK: System libraries
        // The OpenCL API, dlopen'ed at run time (headers from Debian's opencl-headers): the
        // binary starts, and runs on the CPU path, where no OpenCL loader is installed.
        .target(name: "COpenCL"),
        // MPI (Open MPI's C ABI), dlopen'ed at run time too: data-parallel training when an MPI
        // launcher started the process; nothing is needed to build or to run one process.
        .target(name: "CMPI"),
        // oneDNN 2.x's matmul (Debian's libdnnl2), dlopen'ed at run time for the CPU path's bf16
        // products; without it the CPU path computes in fp32.
        .target(name: "CDNNL"),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),

        // Modularity of the pruned network's neuron graph (Louvain communities, Newman's Q) through
        // igraph, dlopen'ed at run time too: only `bimt analyze --modularity` and `bimt sweep` need it.
        .target(name: "CBIMTGraph"),

        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // MARK: Kernel embedding (Kernels/*.cl -> Swift string constants at build time)
        .executableTarget(name: "KernelEmbedder"),
        .plugin(
            name: "EmbedKernels",
            capability: .buildTool(),
            dependencies: ["KernelEmbedder"]
        ),

        // MARK: Compute: buffers, the device abstraction, CPU and OpenCL backends
        .target(name: "CBIMTKernels"),
        .target(
            name: "BIMTCompute",
            dependencies: ["COpenCL", "COpenBLAS", "CDNNL", "CBIMTKernels"],
            plugins: ["EmbedKernels"]
        ),

        // MARK: BIMT: layouts, connection cost, swap scores, relocation
        .target(name: "BIMT", dependencies: ["BIMTCompute", "CZlib", "CMPI", "CBIMTGraph"]),

        // MARK: Command-line tool
        .executableTarget(
            name: "bimt",
            dependencies: [
                "BIMTCompute",
                "BIMT",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tests
        // Devices (with the OpenCL policy: required in CI) and comparisons, shared by every suite.
        .target(name: "TestSupport", dependencies: ["BIMTCompute"], path: "Tests/TestSupport"),
        .testTarget(name: "BIMTComputeTests", dependencies: ["BIMTCompute", "TestSupport"]),
        .testTarget(name: "BIMTTests", dependencies: ["BIMT", "BIMTCompute", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["bimt", "BIMT", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
