import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the kernels.",
        subcommands: [BenchGemmCommand.self, BenchBIMTCommand.self, BenchTrainCommand.self, BenchAttentionCommand.self]
    )
}
