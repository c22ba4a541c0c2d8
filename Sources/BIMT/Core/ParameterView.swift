/// A rectangular view into a model's flat parameter buffer: `rows x columns` floats,
/// row-major, starting at `offset`.
public struct ParameterView: Sendable, Equatable, Codable {
    public var offset: Int
    public var rows: Int
    public var columns: Int

    public init(offset: Int, rows: Int, columns: Int = 1) {
        self.offset = offset
        self.rows = rows
        self.columns = columns
    }

    public var count: Int { rows * columns }
}
