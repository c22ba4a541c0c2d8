/// One float32 tensor on the host under its PyTorch name (`layers.0.weight`), row-major:
/// how a model's parameters leave and enter a checkpoint.
public struct NamedTensor: Sendable, Equatable {
    /// The tensor's name.
    public var name: String
    /// The dimensions, outermost first.
    public var shape: [Int]
    /// The elements, row-major.
    public var values: [Float]

    /// A tensor of `values` (as many as `shape` holds).
    public init(_ name: String, shape: [Int], _ values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) for \(values.count) values")
        (self.name, self.shape, self.values) = (name, shape, values)
    }
}

/// Named tensors looked up by name, and the file they came from (for messages).
public struct NamedTensors: Sendable, Equatable {
    /// The file (or "<memory>") the tensors came from.
    public var path: String
    /// The tensors in their order.
    public var tensors: [NamedTensor]
    /// The file's tensors of other element types (name to dtype), for messages.
    public var otherTypes: [String: String]

    /// `tensors`, read from `path` (which also held `otherTypes`, tensors that are not floats).
    public init(_ tensors: [NamedTensor], path: String = "<memory>", otherTypes: [String: String] = [:]) {
        self.tensors = tensors
        self.path = path
        self.otherTypes = otherTypes
    }

    /// The tensor called `name`, if there is one.
    public subscript(name: String) -> NamedTensor? { tensors.first { $0.name == name } }

    /// The tensor called `name`; throws naming the tensors there are when it is missing.
    public func tensor(_ name: String) throws -> NamedTensor {
        guard let tensor = self[name] else {
            if let dtype = otherTypes[name] {
                throw BIMTError.invalidFile(path: path, reason: "tensor '\(name)' is \(dtype), expected F32 or F64")
            }
            throw BIMTError.invalidFile(
                path: path,
                reason: "has no tensor '\(name)' (it has: "
                    + "\(tensors.map(\.name).sorted().joined(separator: ", ")))")
        }
        return tensor
    }

    /// Reads the tensor `name` of the expected shape into `values` at `offset` (after
    /// `transform`), refusing NaN and infinity.
    func read(
        _ name: String, shape: [Int], into values: inout [Float], at offset: Int,
        transform: ([Float]) -> [Float] = { $0 }
    ) throws {
        let found = try tensor(name)
        guard found.shape == shape else {
            throw BIMTError.shapeMismatch(
                "\(path): tensor '\(name)' has shape \(found.shape), the model needs \(shape)")
        }
        guard found.values.allSatisfy({ $0.isFinite }) else {
            throw BIMTError.invalidFile(path: path, reason: "tensor '\(name)' holds NaN or Inf")
        }
        values.replaceSubrange(offset..<(offset + found.values.count), with: transform(found.values))
    }
}
