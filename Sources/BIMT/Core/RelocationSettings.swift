/// The swap search: its method, how many units try a swap (greedy), and whether AdamW's
/// moments move with their neurons.
public struct RelocationSettings: Sendable, Equatable, Codable {
    public var method: RelocationMethod
    public var topK: Int
    /// Move AdamW moments with their neurons (the paper forgot to; false reproduces it).
    public var moveOptimizerState: Bool

    public init(method: RelocationMethod = .greedy, topK: Int = 5, moveOptimizerState: Bool = true) {
        self.method = method
        self.topK = topK
        self.moveOptimizerState = moveOptimizerState
    }
}
