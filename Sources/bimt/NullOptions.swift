import ArgumentParser
import BIMT

extension NullModel: ExpressibleByArgument {}

/// The nulls modularity and locality are measured against: `analyze --modularity` and `sweep`.
struct NullOptions: ParsableArguments {
    @Option(help: "Nulls per network for the modularity and locality z-scores (at least 2).") var nulls: Int = 10
    @Option(
        help: ArgumentHelp(
            "The nulls: shuffled (each matrix's entries shuffled) or degree (kept weights rewired, every "
                + "neuron keeping its number of connections)."))
    var null: NullModel = .shuffled

    func validate() throws {
        guard nulls >= 2 else {
            throw ValidationError("--nulls must be at least 2 (a z-score needs a spread), got \(nulls)")
        }
    }
}
