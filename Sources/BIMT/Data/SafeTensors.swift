import Foundation

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`),
/// then the tensor bytes. PyTorch (`safetensors.torch.load_file`) and NumPy read it.
///
/// Reading validates the whole header first: sizes, dtypes, offsets inside the file and
/// not overlapping; nothing is allocated from a claimed size before it is checked against
/// the real file.
public struct SafeTensors: Sendable {
    /// A tensor's element type, as safetensors names it.
    public enum DType: String, Sendable {
        case f32 = "F32", f64 = "F64", i64 = "I64", i32 = "I32", u8 = "U8"

        var size: Int {
            switch self {
            case .f32, .i32: 4
            case .f64, .i64: 8
            case .u8: 1
            }
        }
    }

    /// Where a tensor lies in the file.
    public struct TensorInfo: Sendable, Equatable {
        /// The element type.
        public let dtype: DType
        /// The dimensions, outermost first.
        public let shape: [Int]
        let begin: Int
        let end: Int
        /// Elements in all.
        public var count: Int { shape.reduce(1, *) }
    }

    /// A tensor to write.
    public struct Tensor: Sendable {
        /// The tensor's name.
        public let name: String
        /// The element type.
        public let dtype: DType
        /// The dimensions, outermost first.
        public let shape: [Int]
        /// The raw little-endian elements.
        public let bytes: Data

        /// A float32 tensor of `values` (row-major).
        public static func float32(_ name: String, shape: [Int], _ values: [Float]) -> Tensor {
            precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) for \(values.count) values")
            return Tensor(
                name: name, dtype: .f32, shape: shape,
                bytes: values.withUnsafeBufferPointer { Data(buffer: $0) })
        }

        /// An int64 tensor of `values` (row-major).
        public static func int64(_ name: String, shape: [Int], _ values: [Int]) -> Tensor {
            precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) for \(values.count) values")
            return Tensor(
                name: name, dtype: .i64, shape: shape,
                bytes: values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { Data(buffer: $0) })
        }
    }

    /// The largest JSON header read (a larger one is refused as corrupt).
    public static let maximumHeaderBytes = 100 << 20

    /// The file (or "<memory>") the tensors came from, for messages.
    public let path: String
    /// The header's `__metadata__` strings.
    public let metadata: [String: String]
    /// Every tensor by name.
    public let tensors: [String: TensorInfo]
    private let data: Data
    private let dataStart: Int

    /// Reads and checks a safetensors file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw BIMTError.invalidFile(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        try self.init(bytes: data, path: url.path)
    }

    /// Parses safetensors bytes already in memory; `path` names them in errors.
    public init(bytes data: Data, path: String = "<memory>") throws {
        func fail(_ reason: String) -> BIMTError {
            .invalidFile(path: path, reason: "not a valid safetensors file: \(reason)")
        }
        guard data.count >= 8 else { throw fail("\(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) {
            $0 | UInt64($1.element) << (8 * UInt64($1.offset))
        }
        guard headerLength <= UInt64(Self.maximumHeaderBytes), headerLength <= UInt64(data.count - 8) else {
            throw fail("the header claims \(headerLength) bytes but the file has \(data.count - 8) after the length")
        }
        let header = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let object = try? JSONSerialization.jsonObject(with: header), let entries = object as? [String: Any]
        else {
            throw fail("the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength), dataSize = data.count - dataStart
        var metadata: [String: String] = [:], tensors: [String: TensorInfo] = [:]
        for (name, value) in entries {
            if name == "__metadata__" {
                guard let strings = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, entry) in strings {
                    guard let text = entry as? String else { throw fail("metadata '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any], let dtypeName = info["dtype"] as? String,
                let shapeValues = info["shape"] as? [Any], let offsets = info["data_offsets"] as? [Any],
                offsets.count == 2
            else { throw fail("tensor '\(name)' lacks dtype, shape or data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unsupported dtype \(dtypeName) (supported: F32, F64, I64, I32, U8)")
            }
            var shape: [Int] = [], count = 1
            for dimension in shapeValues {
                // A JSON boolean decodes as an NSNumber of objCType "c"; on Linux `is Bool` also
                // matches the integers 0 and 1, so the type code is what tells them apart.
                guard let number = dimension as? NSNumber, String(cString: number.objCType) != "c",
                    let value = Int(exactly: number.doubleValue), value >= 0
                else { throw fail("tensor '\(name)' has a bad shape \(shapeValues)") }
                let (product, overflow) = count.multipliedReportingOverflow(by: value)
                guard !overflow, product <= dataSize else {
                    throw fail("tensor '\(name)' claims shape \(shapeValues), larger than the file")
                }
                shape.append(value)
                count = product
            }
            guard let begin = (offsets[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                let end = (offsets[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                begin >= 0, begin <= end, end <= dataSize
            else { throw fail("tensor '\(name)' has data_offsets \(offsets) outside the \(dataSize) data bytes") }
            guard end - begin == count * dtype.size else {
                throw fail(
                    "tensor '\(name)' of shape \(shape) \(dtypeName) needs \(count * dtype.size) bytes, "
                        + "offsets give \(end - begin)"
                )
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, begin: begin, end: end)
        }
        let ranges = tensors.values.filter { $0.end > $0.begin }.sorted { $0.begin < $1.begin }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.begin < a.end {
            throw fail("two tensors overlap in the data section")
        }
        self.path = path
        self.metadata = metadata
        self.tensors = tensors
        self.data = data
        self.dataStart = dataStart
    }

    private func info(_ name: String) throws -> TensorInfo {
        guard let info = tensors[name] else {
            throw BIMTError.invalidFile(
                path: path, reason: "has no tensor '\(name)' (it has: \(tensors.keys.sorted().joined(separator: ", ")))"
            )
        }
        return info
    }

    private func bytes(_ info: TensorInfo) -> Data {
        data.subdata(in: (dataStart + info.begin)..<(dataStart + info.end))
    }

    /// Every tensor as stored, in name order: to write the file again with other metadata.
    public var storedTensors: [Tensor] {
        tensors.keys.sorted().map { name in
            let info = tensors[name]!
            return Tensor(name: name, dtype: info.dtype, shape: info.shape, bytes: bytes(info))
        }
    }

    /// A floating-point tensor as Float (F32, or F64 converted).
    public func floats(_ name: String) throws -> (shape: [Int], values: [Float]) {
        let info = try info(name), raw = bytes(info)
        switch info.dtype {
        case .f32:
            return (
                info.shape,
                raw.withUnsafeBytes {
                    Array($0.bindMemory(to: UInt32.self)).map { Float(bitPattern: UInt32(littleEndian: $0)) }
                }
            )
        case .f64:
            return (
                info.shape,
                raw.withUnsafeBytes {
                    Array($0.bindMemory(to: UInt64.self)).map { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
                }
            )
        default:
            throw BIMTError.invalidFile(
                path: path, reason: "tensor '\(name)' is \(info.dtype.rawValue), expected F32 or F64")
        }
    }

    /// An integer tensor as Int (I64 or I32).
    public func integers(_ name: String) throws -> (shape: [Int], values: [Int]) {
        let info = try info(name), raw = bytes(info)
        switch info.dtype {
        case .i64:
            return (
                info.shape,
                raw.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)).map { Int(Int64(littleEndian: $0)) } }
            )
        case .i32:
            return (
                info.shape,
                raw.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)).map { Int(Int32(littleEndian: $0)) } }
            )
        default:
            throw BIMTError.invalidFile(
                path: path, reason: "tensor '\(name)' is \(info.dtype.rawValue), expected I64 or I32")
        }
    }

    /// The file bytes for `tensors` and `metadata`: tensors in the given order, the header
    /// padded with spaces to a multiple of 8 bytes.
    public static func encode(_ tensors: [Tensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:], offset = 0
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        for tensor in tensors {
            header[tensor.name] =
                [
                    "dtype": tensor.dtype.rawValue, "shape": tensor.shape,
                    "data_offsets": [offset, offset + tensor.bytes.count],
                ] as [String: Any]
            offset += tensor.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for tensor in tensors { file.append(tensor.bytes) }
        return file
    }

    /// Writes atomically: a temporary file in the same folder, renamed over the target, so a
    /// crash leaves either the old file or the new one, never half of one.
    public static func write(_ tensors: [Tensor], metadata: [String: String], to url: URL) throws {
        let bytes = try encode(tensors, metadata: metadata)
        do { try bytes.write(to: url, options: .atomic) } catch {
            throw BIMTError.invalidFile(path: url.path, reason: "cannot be written (\(error.localizedDescription))")
        }
    }
}
