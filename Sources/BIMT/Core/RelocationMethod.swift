/// How neurons are rearranged every `swap_every` steps.
public enum RelocationMethod: String, Sendable, Codable, CaseIterable {
    /// The paper's: the top_k most important units of each layer in turn take their best swap.
    case greedy
    /// The best arrangement of each layer given the others: a linear assignment problem.
    case assignment
    case off
}
