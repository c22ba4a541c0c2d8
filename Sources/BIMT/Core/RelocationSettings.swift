/// The swap search: its method, how many units try a swap (greedy), and whether AdamW's
/// moments move with their neurons.
public struct RelocationSettings: Sendable, Equatable, Codable {
    /// Greedy (the paper's), assignment (exact per layer) or off.
    public var method: RelocationMethod
    /// Greedy: how many of each layer's most important units try a swap.
    public var topK: Int
    /// Move AdamW moments with their neurons (the paper forgot to; false reproduces it).
    public var moveOptimizerState: Bool

    /// Defaults: the paper's greedy search with top_k 5; moments move with their neurons.
    public init(method: RelocationMethod = .greedy, topK: Int = 5, moveOptimizerState: Bool = true) {
        self.method = method
        self.topK = topK
        self.moveOptimizerState = moveOptimizerState
    }
}
