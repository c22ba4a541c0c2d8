/// A rectangular view into a model's flat parameter buffer: `rows x columns` floats,
/// row-major, starting at `offset`.
public struct ParameterView: Sendable, Equatable, Codable {
    /// First element in the flat buffer.
    public var offset: Int
    /// Row count (output neurons for a weight matrix).
    public var rows: Int
    /// Row length (input neurons for a weight matrix; 1 for a vector).
    public var columns: Int

    /// A `rows x columns` view starting at `offset` (a vector when `columns` is 1).
    public init(offset: Int, rows: Int, columns: Int = 1) {
        self.offset = offset
        self.rows = rows
        self.columns = columns
    }

    /// Elements in the view.
    public var count: Int { rows * columns }
    /// The elements' indices in the flat buffer.
    public var range: Range<Int> { offset..<(offset + count) }
}
