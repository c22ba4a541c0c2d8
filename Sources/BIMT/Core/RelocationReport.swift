/// What a relocation did: units that changed place, per swap group.
public struct RelocationReport: Sendable, Equatable {
    public var movedUnits: [Int]
    public var totalMoved: Int { movedUnits.reduce(0, +) }
}
