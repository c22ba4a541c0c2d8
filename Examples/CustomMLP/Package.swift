// swift-tools-version:6.0
// A program that uses bimt as a library: `swift run -c release` in this folder.
import PackageDescription

let package = Package(
    name: "CustomMLP",
    dependencies: [.package(name: "bimt", path: "../..")],
    targets: [
        .executableTarget(name: "CustomMLP", dependencies: [.product(name: "BIMT", package: "bimt"),
                                                            .product(name: "BIMTCompute", package: "bimt")]),
    ]
)
