/// What a relocation did: units that changed place, per swap group.
public struct RelocationReport: Sendable, Equatable {
    /// Per swappable group, in relocation order: how many units changed place.
    public var movedUnits: [Int]
    /// Units moved in all groups.
    public var totalMoved: Int { movedUnits.reduce(0, +) }
}
