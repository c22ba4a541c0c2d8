import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct BenchAttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Time fused causal attention against the unfused path, forward and backward, with their memory.",
        discussion: """
            Both run on the same random q, k, v and output gradient, alternating, --repeat times \
            after a warm-up; the medians are reported. 'stored' is what the forward pass keeps \
            for the backward (per layer of a model), 'scratch' what the passes use besides. \
            max_rel_diff is the largest difference between the two paths' outputs and q/k/v \
            gradients over the largest value.
            """
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Option(help: "Sequences in the batch.") var sequences: Int = 16
    @Option(name: .customLong("length"), parsing: .upToNextOption, help: "Sequence lengths (default: 256 1024).")
    var lengths: [Int] = [256, 1024]
    @Option(help: "Attention heads.") var heads: Int = 6
    @Option(help: "Features per head.") var headDimension: Int = 64
    @Option(help: "Dropout rate of the attention probabilities.") var dropout: Float = 0
    @Option(help: "Timed runs of each pass.") var `repeat`: Int = 5
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        guard sequences >= 1, heads >= 1, headDimension >= 1, `repeat` >= 1, !lengths.isEmpty,
            lengths.allSatisfy({ $0 >= 1 })
        else {
            throw ValidationError("--sequences, --heads, --head-dimension, --repeat and every --length must be >= 1")
        }
        guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must lie in [0, 1), got \(dropout)") }
        for length in lengths {
            let rows = Double(sequences) * Double(heads) * Double(length)
            // q, k, v and the output; the unfused kernel also stores every [length, length] score matrix.
            try requireBenchBuffer(
                rows * max(Double(headDimension), Double(length)),
                "a length of \(length)'s q, k, v or scores",
                flags: "--sequences/--heads/--head-dimension/--length")
        }
    }

    func run() throws {
        let device = try deviceOptions.open()
        var rows: [[String: Any]] = []
        if !json {
            print("device: \(device.name)")
            for length in lengths {
                let shape = AttentionShape(
                    sequences: sequences, length: length, heads: heads, headDimension: headDimension)
                print("fused attention at length \(length): \(device.fusedAttentionKernels(shape))")
            }
            print("length  kernel   forward ms  backward ms  stored MiB  scratch MiB  max_rel_diff")
        }
        for length in lengths {
            let shape = AttentionShape(sequences: sequences, length: length, heads: heads, headDimension: headDimension)
            let result = try AttentionBenchmark.run(shape, on: device, dropoutRate: dropout, repeat: `repeat`)
            for timing in [result.fused, result.unfused] {
                let mib = { (bytes: Int) in Double(bytes) / 1_048_576 }
                if json {
                    rows.append([
                        "length": length, "kernel": timing.kernel, "forward_seconds": timing.forwardSeconds,
                        "backward_seconds": timing.backwardSeconds, "stored_bytes": timing.storedBytes,
                        "scratch_bytes": timing.scratchBytes, "max_rel_diff": result.relativeDifference,
                    ])
                } else {
                    print(
                        String(
                            format: "%-7d %-8@ %10.2f  %11.2f  %10.2f  %11.2f  %.2e", length, timing.kernel as NSString,
                            timing.forwardSeconds * 1e3, timing.backwardSeconds * 1e3, mib(timing.storedBytes),
                            mib(timing.scratchBytes), result.relativeDifference))
                }
            }
        }
        if json {
            let object: [String: Any] = [
                "device": device.name, "sequences": sequences, "heads": heads,
                "head_dimension": headDimension, "dropout": Double(dropout), "results": rows,
                "fused_kernels": lengths.map {
                    device.fusedAttentionKernels(
                        AttentionShape(sequences: sequences, length: $0, heads: heads, headDimension: headDimension))
                },
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
