import Foundation

/// A user's own table from a safetensors file (`bimt train --data FILE.safetensors`):
/// `train.inputs` and `test.inputs` float [N, d_in]; `train.labels` and `test.labels`
/// either float [N] or [N, d_out] (regression, MSE) or integer [N] (classification,
/// cross-entropy, classes 0 ..< max label + 1).
public enum UserData {
    /// Reads and checks the file; the loss follows the labels' type.
    public static func load(path: String) throws -> TaskData {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw BIMTError.invalidFile(path: path, reason: "does not exist")
        }
        let file = try SafeTensors(contentsOf: url)
        var classCount = 0
        var splits: [String: (inputs: [Float], width: Int, labels: LabelValues)] = [:]
        enum LabelValues { case real([Float], Int), integer([Int]) }
        for split in ["train", "test"] {
            let (shape, inputs) = try file.floats("\(split).inputs")
            guard shape.count == 2, shape[0] >= 1, shape[1] >= 1 else {
                throw BIMTError.invalidFile(path: path, reason: "\(split).inputs must be [N, d_in], got \(shape)")
            }
            let labelInfo = file.tensors["\(split).labels"]
            let labels: LabelValues
            if labelInfo?.dtype == .i64 || labelInfo?.dtype == .i32 {
                let (labelShape, values) = try file.integers("\(split).labels")
                guard labelShape == [shape[0]] else {
                    throw BIMTError.invalidFile(
                        path: path, reason: "\(split).labels must be [\(shape[0])], got \(labelShape)")
                }
                if let bad = values.first(where: { !(0..<SizeLimits.neurons).contains($0) }) {
                    throw BIMTError.invalidFile(
                        path: path,
                        reason: "\(split).labels must be class indices in "
                            + "0..<\(SizeLimits.neurons), got \(bad)")
                }
                classCount = max(classCount, (values.max() ?? 0) + 1)
                labels = .integer(values)
            } else {
                let (labelShape, values) = try file.floats("\(split).labels")
                guard labelShape.first == shape[0], labelShape.count <= 2 else {
                    throw BIMTError.invalidFile(
                        path: path,
                        reason: "\(split).labels must be [\(shape[0])] or [\(shape[0]), d_out], got \(labelShape)")
                }
                labels = .real(values, labelShape.count == 2 ? labelShape[1] : 1)
            }
            splits[split] = (inputs, shape[1], labels)
        }
        func dataset(_ split: String) throws -> Dataset {
            let s = splits[split]!
            switch s.labels {
            case let .real(values, width):
                return try Dataset(
                    inputs: s.inputs, inputWidth: s.width, targets: .regression(values: values, width: width),
                    name: "\(path) \(split)")
            case let .integer(values):
                return try Dataset(
                    inputs: s.inputs, inputWidth: s.width,
                    targets: .classification(labels: values, classes: classCount),
                    name: "\(path) \(split)")
            }
        }
        return try TaskData(
            name: url.deletingPathExtension().lastPathComponent, train: try dataset("train"), test: try dataset("test"))
    }
}
