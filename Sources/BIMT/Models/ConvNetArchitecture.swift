import BIMTCompute

/// A small convolutional net over NHWC images: blocks of (Conv2d k x k, stride 1, "same"
/// padding; activation; K x K pooling), then the dense head of
/// `TrainingConfiguration.architecture` (its first width is the flattened size).
public struct ConvNetArchitecture: Sendable, Equatable, Codable {
    /// Input image rows.
    public var imageHeight: Int
    /// Input image columns.
    public var imageWidth: Int
    /// Input channels (1 for grey).
    public var imageChannels: Int
    /// Output channels of each conv block.
    public var channels: [Int]
    /// The square kernel's side (odd: same padding).
    public var kernelSize: Int
    /// "max" or "avg".
    public var pool: String
    /// The pooling window's side (and stride).
    public var poolSize: Int

    /// A conv net's blocks; defaults: 3x3 kernels, 2x2 max-pooling.
    public init(
        imageHeight: Int, imageWidth: Int, imageChannels: Int, channels: [Int], kernelSize: Int = 3,
        pool: String = "max", poolSize: Int = 2
    ) {
        self.imageHeight = imageHeight
        self.imageWidth = imageWidth
        self.imageChannels = imageChannels
        self.channels = channels
        self.kernelSize = kernelSize
        self.pool = pool
        self.poolSize = poolSize
    }

    /// (height, width, channels) entering each block, and after the last one.
    public var sizes: [(height: Int, width: Int, channels: Int)] {
        var result = [(imageHeight, imageWidth, imageChannels)]
        for c in channels {
            let last = result.last!
            result.append((last.0 / poolSize, last.1 / poolSize, c))
        }
        return result
    }

    /// The flattened width the dense head receives.
    public var flattenedWidth: Int { sizes.last!.height * sizes.last!.width * sizes.last!.channels }

    /// Checks sizes, kernel, pooling and that every block's input holds a pooling window; the error names the field.
    public func validate() throws {
        guard imageHeight >= 1, imageWidth >= 1, imageChannels >= 1, !channels.isEmpty, channels.allSatisfy({ $0 >= 1 })
        else {
            throw BIMTError.invalidField(
                field: "convolution",
                reason: "a conv net needs a positive image size and at least one block of channels")
        }
        for (value, field) in [
            (imageHeight, "imageHeight"), (imageWidth, "imageWidth"),
            (imageChannels, "imageChannels"),
        ] {
            try SizeLimits.require(value, in: 1...SizeLimits.imageSide, "convolution." + field)
        }
        try SizeLimits.require(channels.count, in: 1...SizeLimits.layers, "convolution.channels", what: "blocks")
        for c in channels { try SizeLimits.require(c, in: 1...SizeLimits.imageSide, "convolution.channels") }
        try SizeLimits.require(kernelSize, in: 1...SizeLimits.factor, "convolution.kernelSize")
        try SizeLimits.require(poolSize, in: 1...SizeLimits.factor, "convolution.poolSize")
        // Per block: one image's im2col columns, its output, and the kernel.
        let taps = Double(kernelSize * kernelSize)
        let perImage = zip(sizes, channels).reduce(0.0) { total, block in
            let (size, out) = block, pixels = Double(size.height) * Double(size.width), c = Double(size.channels)
            return total + pixels * (taps * c + Double(out)) + taps * c * Double(out)
        }
        try SizeLimits.requireValues(
            perImage, "one image's convolution columns, outputs and kernels",
            field: "convolution", lower: "the image size, the kernel or the channels")
        guard kernelSize >= 1, kernelSize % 2 == 1 else {
            throw BIMTError.invalidField(
                field: "convolution.kernelSize", reason: "must be odd (same padding), got \(kernelSize)")
        }
        guard pool == "max" || pool == "avg" else {
            throw BIMTError.invalidField(field: "convolution.pool", reason: "must be max or avg, got \(pool)")
        }
        guard poolSize >= 1 else {
            throw BIMTError.invalidField(field: "convolution.poolSize", reason: "must be at least 1, got \(poolSize)")
        }
        // Pooling rounds down (PyTorch's floor mode): 7x7 pools to 3x3. Every block must keep a pixel.
        for (index, size) in sizes.dropLast().enumerated() where size.height < poolSize || size.width < poolSize {
            throw BIMTError.invalidField(
                field: "convolution.poolSize",
                reason:
                    "block \(index) input \(size.height)x\(size.width) is smaller than the pool size \(poolSize); "
                    + "use fewer blocks or a smaller pool"
            )
        }
    }

    /// Floats one im2col buffer may hold (256 MiB): a block whose columns for the whole batch
    /// are larger goes through the convolution in chunks of images, recomputing each chunk's
    /// columns in the backward pass instead of keeping them. Smaller budgets were no faster
    /// on the CPU path and 25 % slower on PoCL (the recomputed im2col), so only batches whose
    /// columns would really cost memory are chunked.
    public static let columnBudget = 1 << 26

    /// Images per im2col chunk of block `block` for `rows` images (all of them when the
    /// block's columns fit in `budget` floats).
    public func columnChunk(block: Int, rows: Int, budget: Int = columnBudget) -> Int {
        max(1, min(rows, budget / columnsPerImage(block: block)))
    }

    /// Floats of block `block`'s im2col columns per image (output pixels x kernel x input channels).
    public func columnsPerImage(block: Int) -> Int {
        let (h, w, c) = sizes[block]
        return h * w * kernelSize * kernelSize * c
    }

    /// Floats of column gradient one backward GEMM may write (2 MiB): the input gradient of a
    /// block goes through `dColumns = dZ W` and col2im a few images at a time, so the column
    /// gradient stays in the cores' caches between the two (and its scratch stays small).
    public static let columnGradientBudget = 1 << 19

    /// Images per column-gradient chunk of block `block`, at most `chunk` (its im2col chunk).
    public func columnGradientChunk(block: Int, chunk: Int, budget: Int = columnGradientBudget) -> Int {
        max(1, min(chunk, budget / columnsPerImage(block: block)))
    }

    /// A sheet for `count` channels: a square grid, else the most square grid it tiles.
    static func channelSheet(_ count: Int, folds: Int, name: String) throws -> NeuronLayout {
        var width = Int(Double(count).squareRoot().rounded(.up))
        while count % width != 0 { width += 1 }
        return try .grid(neurons: count * folds, width: width, folds: folds, name: name)
    }
}
