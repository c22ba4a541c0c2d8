// swift-tools-version:6.0
// libFuzzer harnesses for the parsers that take untrusted input. Kept out of the main
// package: they only link with -sanitize=fuzzer. Build and run with Fuzz/run.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name, which differs between checkouts.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "bimt-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzParsers",
            dependencies: [.product(name: "BIMT", package: root.lowercased()),
                           .product(name: "BIMTCompute", package: root.lowercased())],
            // libFuzzer supplies main(); this package is never a dependency of the main build.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
