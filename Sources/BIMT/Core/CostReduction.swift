/// How the connection cost reduces over a matrix's elements.
public enum CostReduction: String, Sendable, Codable, CaseIterable {
    case sum
    case mean
}
