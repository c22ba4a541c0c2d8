import ArgumentParser
import BIMT
import BIMTCompute
import Foundation

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a character-level transformer (bimt train --preset charlm --text FILE)."
    )

    @OptionGroup var deviceOptions: DeviceOptions
    @Argument(help: "A checkpoint.safetensors written by bimt train --preset charlm (or its run directory).")
    var checkpoint: String
    @Option(help: "Text to continue.") var prompt: String
    @Option(help: "Characters to generate.") var length: Int = 200
    @Option(help: "Softmax temperature (lower: more conservative).") var temperature: Float = 0.8
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Draw only among the k most likely characters.") var topK: Int?

    func validate() throws {
        guard length >= 0 else { throw ValidationError("--length must be >= 0, got \(length)") }
        guard temperature > 0 && temperature.isFinite else {
            throw ValidationError("--temperature must be > 0, got \(temperature)")
        }
        if let topK, topK < 1 { throw ValidationError("--top-k must be >= 1, got \(topK)") }
    }

    func run() throws {
        let device = try deviceOptions.open()
        do {
            let generator = try TextGenerator(checkpoint: checkpointURL(checkpoint), device: device)
            print(
                try generator.generate(prompt: prompt, length: length, temperature: temperature, topK: topK, seed: seed)
            )
        } catch let error as BIMTError {
            throw RuntimeFailure(error.description)
        }
    }
}
