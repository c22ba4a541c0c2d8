import Foundation

/// MNIST-format image data: a folder holding `train-images-idx3-ubyte[.gz]`,
/// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
/// Images are kept as (N, 1, rows, cols) row-major tensors (the same bytes as [N, rows*cols]),
/// scaled to [0, 1]. Default: Debian's Fashion-MNIST.
public enum ImageData {
    /// Where Debian's dataset-fashion-mnist installs Fashion-MNIST.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// The four files of `directory` (nil: `defaultDirectory`) as a 10-class task of [0, 1] pixels.
    public static func load(directory: String?) throws -> TaskData {
        let folder = directory ?? defaultDirectory
        func file(_ stem: String) throws -> URL {
            for name in [stem, stem + ".gz"] {
                let url = URL(fileURLWithPath: folder).appending(path: name)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            let hint =
                directory == nil
                ? "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
                    + "or give a folder of MNIST-format IDX files"
                : "give a folder holding the four MNIST-format IDX files"
            throw BIMTError.invalidFile(path: folder, reason: "has no \(stem)[.gz]; \(hint)")
        }
        func split(_ prefix: String) throws -> Dataset {
            let (images, labels, rows, columns) = try IDX.imageSplit(
                images: try file("\(prefix)-images-idx3-ubyte"),
                labels: try file("\(prefix)-labels-idx1-ubyte"))
            guard labels.allSatisfy({ (0...9).contains($0) }) else {
                throw BIMTError.invalidFile(path: folder, reason: "\(prefix) labels outside 0...9")
            }
            return try Dataset(
                inputs: images, inputWidth: rows * columns, targets: .classification(labels: labels, classes: 10),
                name: "\(folder) \(prefix)")
        }
        let train = try split("train"), test = try split("t10k")
        return try TaskData(
            name: URL(fileURLWithPath: folder).lastPathComponent, train: train, test: test,
            inputNames: (0..<train.inputWidth).map { "p\($0)" }, outputNames: (0..<10).map { "class \($0)" })
    }
}
