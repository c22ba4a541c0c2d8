import BIMTCompute
import Foundation

/// A convolutional net with BIMT: each conv layer's channels are neurons on a 2-D sheet.
/// Activations are NHWC, so the flattened last block is that sheet folded over the spatial
/// positions, and a conv kernel W[o, ky, kx, c] is a matrix [O, k*k*C] whose columns are the
/// input sheet folded k*k times: the cost of W[o, c, :, :] is sum |W| (wf dist(o, c) + l0).
///
/// Parameters, one flat buffer: per block `weight` [O, k, k, C] and `bias` [O], then the
/// head's `weight` [out, in] and `bias` [out] per dense layer. Checkpoints export PyTorch's
/// layouts (conv [O, C, k, k]; the head's first matrix with NCHW-flattened columns).
public final class ConvNet: TrainableModel {
    /// The device holding the buffers.
    public let device: Device
    /// The conv blocks.
    public let convolution: ConvNetArchitecture
    /// The dense head over the flattened blocks.
    public let head: MLPArchitecture
    /// The neurons' positions and the connection cost on the device.
    public let geometry: SpatialGeometry
    /// Every parameter in one flat buffer.
    public let parameters: Buffer
    /// The gradient of the loss (and connection cost) with respect to `parameters`.
    public let gradients: Buffer
    /// AdamW's first moments, one per parameter.
    public let firstMoments: Buffer
    /// AdamW's second moments, one per parameter.
    public let secondMoments: Buffer
    let blockCount: Int
    var workspaces: [Int: Workspace] = [:]
    /// Floats one im2col buffer may hold (`ConvNetArchitecture.columnBudget`; tests lower it
    /// to exercise the chunked path). Set it before the first forward pass.
    var columnBudget = ConvNetArchitecture.columnBudget
    /// Floats of column gradient per backward GEMM (`ConvNetArchitecture.columnGradientBudget`;
    /// tests lower it too). Set it before the first forward pass.
    var columnGradientBudget = ConvNetArchitecture.columnGradientBudget

    /// Whether the conv blocks write their activations over their preactivations: for ReLU,
    /// whose derivative is the same at z and at relu(z), the fused backward can take the
    /// activation for the preactivation, and each block keeps one buffer instead of two.
    var activatesInPlace: Bool { ConvNet.activatesInPlace(head.activation) }
    static func activatesInPlace(_ activation: Activation) -> Bool { activation == .relu }

    /// Outputs per predicted row.
    public var outputWidth: Int { head.widths.last! }
    /// The token embedding of the input, if any.
    public var embedding: EmbeddingSpec? { nil }
    /// Rows one forward pass takes at most (evaluation goes in chunks of this).
    public var maximumRows: Int { specification.maximumRows }

    /// The model's kind and architecture.
    public var specification: ModelSpec { .convNet(convolution, head: head) }

    /// Checks `data` against the architecture (see `ModelSpec.check`).
    public func check(_ data: TaskData, loss: LossKind) throws { try specification.check(data, loss: loss) }

    /// The weight matrices and convolution kernels.
    public var matrixRanges: [Range<Int>] { network.connections.map(\.weight.range) }

    final class Workspace {
        /// Per block: its im2col columns when they fit the budget whole (kept for the
        /// backward pass), else nil and the block goes in chunks through `chunkColumns`.
        let columns: [Buffer?], chunkColumns: Buffer?, columnGradient: Buffer?
        let preactivations: [Buffer], activations: [Buffer], pooled: [Buffer]
        let pooledGradient: [Buffer], preactivationGradient: [Buffer]
        let headPre: [Buffer], headPost: [Buffer], headGradient: [Buffer], headInputGradient: [Buffer]

        init(device: Device, net: ConvNet, rows: Int) throws {
            let sizes = net.convolution.sizes
            func make(_ count: Int) throws -> Buffer { try device.makeBuffer(count: count) }
            var columns: [Buffer?] = [], pre: [Buffer] = [], post: [Buffer] = [], pooled: [Buffer] = []
            var dPooled: [Buffer] = [], dPre: [Buffer] = []
            var chunkCount = 0, gradientCount = 0
            for b in 0..<net.blockCount {
                let (h, w, _) = sizes[b], o = net.convolution.channels[b], pixels = rows * h * w
                let chunk = net.convolution.columnChunk(block: b, rows: rows, budget: net.columnBudget)
                let chunkFloats = chunk * net.convolution.columnsPerImage(block: b)
                columns.append(chunk == rows ? try make(chunkFloats) : nil)
                if chunk < rows { chunkCount = max(chunkCount, chunkFloats) }
                if b > 0 {
                    let images = net.convolution.columnGradientChunk(
                        block: b, chunk: chunk, budget: net.columnGradientBudget)
                    gradientCount = max(gradientCount, images * net.convolution.columnsPerImage(block: b))
                }
                pre.append(try make(pixels * o))
                // ReLU activates in place: its backward needs only relu(z) (see `activatesInPlace`).
                post.append(net.activatesInPlace ? pre[b] : try make(pixels * o))
                dPre.append(try make(pixels * o))
                pooled.append(try make(rows * sizes[b + 1].height * sizes[b + 1].width * o))
                dPooled.append(try make(rows * sizes[b + 1].height * sizes[b + 1].width * o))
            }
            self.columns = columns
            chunkColumns = chunkCount > 0 ? try make(chunkCount) : nil
            columnGradient = gradientCount > 0 ? try make(gradientCount) : nil
            preactivations = pre; activations = post; self.pooled = pooled
            pooledGradient = dPooled; preactivationGradient = dPre
            // Index 0 is the flattened input, held by pooled/pooledGradient: keep a 1-element placeholder.
            func perLayer() throws -> [Buffer] {
                try net.head.widths.enumerated().map { try make($0.offset == 0 ? 1 : rows * $0.element) }
            }
            headPre = try perLayer()
            headPost = try perLayer()
            headGradient = try perLayer()
            headInputGradient = try perLayer()
        }
    }

    /// `costSettings` is the training cost; `relocationCostSettings` the cost swaps minimize
    /// (nil: the training cost with wf on every matrix).
    public init(
        convolution: ConvNetArchitecture, head: MLPArchitecture, costSettings: CostSettings,
        relocationCostSettings: CostSettings? = nil, device: Device
    ) throws {
        try convolution.validate()
        try head.validate()
        guard head.widths[0] == convolution.flattenedWidth else {
            throw BIMTError.invalidSetting(
                "the head's first width must be the flattened size \(convolution.flattenedWidth), got \(head.widths[0])"
            )
        }
        self.convolution = convolution
        self.head = head
        self.device = device
        blockCount = convolution.channels.count
        let network = try Self.spatialNetwork(convolution, head: head)
        geometry = try SpatialGeometry(
            network: network, settings: costSettings, relocationSettings: relocationCostSettings,
            device: device)
        let buffers = try ParameterBuffers(count: network.parameterExtent, device: device)
        (parameters, gradients, firstMoments, secondMoments) = (
            buffers.parameters, buffers.gradients, buffers.firstMoments, buffers.secondMoments
        )
    }

    /// Layers: the input sheet folded k*k; per block its channel sheet twice (rows of its own
    /// kernel, and folded as the next layer reads it) in one swap group; the head's layers.
    static func spatialNetwork(_ conv: ConvNetArchitecture, head: MLPArchitecture) throws -> SpatialNetwork {
        let kk = conv.kernelSize * conv.kernelSize, sizes = conv.sizes
        var layers = [
            NeuronLayer(
                name: "input channels",
                layout: try ConvNetArchitecture.channelSheet(conv.imageChannels, folds: kk, name: "input channels"))
        ]
        var groups = [SwapGroup(layers: [0], swappable: false)]
        var connections: [SpatialConnection] = [], offset = 0, reads = 0
        for (b, channels) in conv.channels.enumerated() {
            let own = layers.count
            layers.append(
                NeuronLayer(
                    name: "conv\(b)", layout: try ConvNetArchitecture.channelSheet(channels, folds: 1, name: "conv\(b)")
                ))
            let nextFolds = b + 1 < conv.channels.count ? kk : sizes[b + 1].height * sizes[b + 1].width
            layers.append(
                NeuronLayer(
                    name: "conv\(b) (as read next)",
                    layout: try ConvNetArchitecture.channelSheet(channels, folds: nextFolds, name: "conv\(b)")))
            groups.append(SwapGroup(layers: [own, own + 1]))
            let columns = layers[reads].layout.neuronCount
            let weight = ParameterView(offset: offset, rows: channels, columns: columns)
            connections.append(
                SpatialConnection(
                    name: "convs.\(b)", input: reads, output: own, weight: weight,
                    bias: ParameterView(offset: offset + weight.count, rows: channels)))
            offset += weight.count + channels
            reads = own + 1
        }
        let headLayouts = try head.layout.layouts(sizes: Array(head.widths.dropFirst()))
        for (i, layout) in headLayouts.enumerated() {
            let index = layers.count
            layers.append(NeuronLayer(name: i == headLayouts.count - 1 ? "output" : "head\(i)", layout: layout))
            let weight = ParameterView(
                offset: offset, rows: layout.neuronCount, columns: layers[reads].layout.neuronCount)
            connections.append(
                SpatialConnection(
                    name: "head.\(i)", input: reads, output: index, weight: weight,
                    bias: ParameterView(offset: offset + weight.count, rows: layout.neuronCount)))
            offset += weight.count + layout.neuronCount
            reads = index
        }
        return try SpatialNetwork(layers: layers, connections: connections, groups: groups)
    }

    /// PyTorch's default initialization, seeded.
    public func initialize(seed: UInt64) throws {
        // PyTorch's default for Conv2d and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        try device.write(network.initialParameters(seed: seed), to: parameters.whole)
    }

    func workspace(rows: Int) throws -> Workspace {
        if let workspace = workspaces[rows] { return workspace }
        let workspace = try Workspace(device: device, net: self, rows: rows)
        workspaces[rows] = workspace
        return workspace
    }

    func view(_ v: ParameterView, in buffer: Buffer) -> BufferSlice { buffer.slice(offset: v.offset, count: v.count) }

    func convolutionShape(_ b: Int, rows: Int) -> ConvolutionShape {
        let (h, w, c) = convolution.sizes[b], k = convolution.kernelSize
        return ConvolutionShape(
            batch: rows, height: h, width: w, channels: c, kernelHeight: k, kernelWidth: k, stride: 1, padding: k / 2)
    }

    func poolShape(_ b: Int, rows: Int) -> PoolShape {
        let (h, w, _) = convolution.sizes[b]
        return PoolShape(
            batch: rows, height: h, width: w, channels: convolution.channels[b], size: convolution.poolSize,
            isMax: convolution.pool == "max")
    }

    /// A run of images going through one block's convolution together.
    struct Chunk {
        /// The first image.
        let first: Int
        /// The convolution over the chunk's images.
        let shape: ConvolutionShape

        /// The chunk's part of `slice`, which holds `perImage` values per image of the batch.
        func images(of slice: BufferSlice, perImage: Int) -> BufferSlice {
            slice.slice(offset: first * perImage, count: shape.batch * perImage)
        }
    }

    /// Block `b`'s chunks of images for a batch of `rows` (one chunk when its columns fit the budget).
    func chunks(block b: Int, rows: Int) -> [Chunk] {
        chunks(block: b, images: 0..<rows, size: convolution.columnChunk(block: b, rows: rows, budget: columnBudget))
    }

    /// `images` cut into chunks of `size` images for block `b`.
    func chunks(block b: Int, images: Range<Int>, size: Int) -> [Chunk] {
        stride(from: images.lowerBound, to: images.upperBound, by: size).map {
            Chunk(first: $0, shape: convolutionShape(b, rows: min(size, images.upperBound - $0)))
        }
    }

    /// The im2col columns of `chunk` of block `b`'s input `x`: the block's kept buffer (filled
    /// in the forward pass and reused by the backward pass), or the shared chunk scratch,
    /// filled again each time it is needed.
    func columns(_ b: Int, _ chunk: Chunk, input x: BufferSlice, workspace ws: Workspace, backward: Bool) throws
        -> BufferSlice
    {
        let shape = chunk.shape
        if let kept = ws.columns[b] {
            if !backward { try device.im2col(shape, input: x, columns: kept.whole) }
            return kept.whole
        }
        let columns = ws.chunkColumns!.slice(offset: 0, count: shape.patchCount * shape.patchSize)
        try device.im2col(
            shape, input: chunk.images(of: x, perImage: shape.height * shape.width * shape.channels), columns: columns)
        return columns
    }

    /// The outputs for `rows` input rows (a view into the model's workspace).
    public func forward(input: BufferSlice, rows: Int) throws -> BufferSlice {
        guard input.count == rows * convolution.imageHeight * convolution.imageWidth * convolution.imageChannels else {
            throw BIMTError.shapeMismatch(
                "conv net input holds \(input.count) values for \(rows) images of "
                    + "\(convolution.imageHeight)x\(convolution.imageWidth)x\(convolution.imageChannels)")
        }
        let ws = try workspace(rows: rows)
        var x = input
        for b in 0..<blockCount {
            let c = network.connections[b], pixels = convolutionShape(b, rows: 1).patchCount
            // A convolution is a linear map of the im2col columns, one row per output pixel.
            for chunk in chunks(block: b, rows: rows) {
                let columns = try columns(b, chunk, input: x, workspace: ws, backward: false)
                try device.linear(
                    columns, weight: c.weight, bias: nil, parameters: parameters, rows: chunk.shape.patchCount,
                    into: chunk.images(of: ws.preactivations[b].whole, perImage: pixels * c.weight.rows))
            }
            let bias = parameters.slice(offset: c.bias!.offset, count: c.bias!.count)
            try device.biasActivationPool(
                poolShape(b, rows: rows), activation: head.activation, bias: bias,
                preactivation: ws.preactivations[b].whole, activated: ws.activations[b].whole,
                output: ws.pooled[b].whole)
            x = ws.pooled[b].whole
        }
        let dense = network.connections[blockCount...]
        for (i, c) in dense.enumerated() {
            let z = ws.headPre[i + 1].whole
            try device.linear(x, weight: c.weight, bias: c.bias, parameters: parameters, rows: rows, into: z)
            if i == dense.count - 1 { return z }
            try device.activationForward(head.activation, input: z, output: ws.headPost[i + 1].whole)
            x = ws.headPost[i + 1].whole
        }
        preconditionFailure("a conv net has a head")
    }

    /// Adds the parameter gradients for `outputGradient` (after a `forward` of the same input) into `gradients`.
    public func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice) throws {
        let ws = try workspace(rows: rows)
        let dense = Array(network.connections[blockCount...])
        // Head, in reverse.
        var dz = outputGradient
        for i in stride(from: dense.count - 1, through: 0, by: -1) {
            let c = dense[i]
            let x = i == 0 ? ws.pooled[blockCount - 1].whole : ws.headPost[i].whole
            let dx = i == 0 ? ws.pooledGradient[blockCount - 1].whole : ws.headInputGradient[i].whole
            try device.linearBackward(
                x, weight: c.weight, bias: c.bias, parameters: parameters, gradients: gradients, rows: rows,
                outputGradient: dz, inputGradient: dx)
            if i == 0 { break }
            let next = ws.headGradient[i].whole
            try device.fill(next, value: 0)
            try device.activationBackward(
                head.activation, input: ws.headPre[i].whole, outputGradient: dx, inputGradient: next)
            dz = next
        }
        // Conv blocks, in reverse.
        for b in stride(from: blockCount - 1, through: 0, by: -1) {
            let shape = convolutionShape(b, rows: rows), c = network.connections[b],
                pixels = convolutionShape(b, rows: 1).patchCount
            try device.poolActivationBackward(
                poolShape(b, rows: rows), activation: head.activation, preactivation: ws.preactivations[b].whole,
                input: ws.activations[b].whole, outputGradient: ws.pooledGradient[b].whole,
                preactivationGradient: ws.preactivationGradient[b].whole,
                biasGradient: gradients.slice(offset: c.bias!.offset, count: c.bias!.count))
            if b > 0 { try device.fill(ws.pooledGradient[b - 1].whole, value: 0) }
            let x = b == 0 ? input : ws.pooled[b - 1].whole
            let dZ = ws.preactivationGradient[b].whole,
                weight = parameters.slice(offset: c.weight.offset, count: c.weight.count)
            for chunk in chunks(block: b, rows: rows) {
                let columns = try columns(b, chunk, input: x, workspace: ws, backward: true)
                try device.linearBackward(
                    columns, weight: c.weight, bias: nil, parameters: parameters, gradients: gradients,
                    rows: chunk.shape.patchCount,
                    outputGradient: chunk.images(of: dZ, perImage: pixels * c.weight.rows),
                    inputGradient: nil)
                if b == 0 { continue } // the image needs no gradient
                // dx = col2im(dZ W), a few images at a time so the column gradient stays in cache.
                let size = convolution.columnGradientChunk(
                    block: b, chunk: chunk.shape.batch, budget: columnGradientBudget)
                for part in chunks(block: b, images: chunk.first..<(chunk.first + chunk.shape.batch), size: size) {
                    let dColumns = ws.columnGradient!.slice(
                        offset: 0, count: part.shape.patchCount * part.shape.patchSize)
                    try device.gemm(
                        GemmOperation(m: part.shape.patchCount, n: c.weight.columns, k: c.weight.rows),
                        a: part.images(of: dZ, perImage: pixels * c.weight.rows), b: weight, c: dColumns)
                    try device.col2im(
                        part.shape, columnGradient: dColumns,
                        inputGradient: part.images(
                            of: ws.pooledGradient[b - 1].whole, perImage: shape.height * shape.width * shape.channels))
                }
            }
        }
    }

    // MARK: PyTorch layouts

    /// The parameters as PyTorch-named tensors.
    public func exportTensors(_ values: [Float]) -> [NamedTensor] {
        PyTorchLayout(convolution: convolution, network: network).export(values)
    }

    /// Reads the PyTorch-named tensors of `file` into flat parameter values, checking shapes.
    public func importTensors(from file: NamedTensors, into values: inout [Float]) throws {
        try PyTorchLayout(convolution: convolution, network: network).read(file, into: &values)
    }

    /// How the flat parameters of a conv net of `convolution` over `network` map to PyTorch's
    /// tensors (no device needed).
    struct PyTorchLayout {
        let convolution: ConvNetArchitecture
        let network: SpatialNetwork
        var blockCount: Int { convolution.channels.count }

        /// Internal [O, k, k, C] <-> PyTorch [O, C, k, k]; the head's first matrix: internal
        /// columns p*C + c (NHWC flatten) <-> PyTorch c*P + p (NCHW flatten).
        func reorder(_ values: [Float], connection index: Int, toPyTorch: Bool) -> [Float] {
            let c = network.connections[index]
            var out = values
            if index < blockCount {
                let k = convolution.kernelSize, channels = convolution.sizes[index].channels
                for o in 0..<c.weight.rows {
                    for s in 0..<(k * k) {
                        for ch in 0..<channels {
                            let internalIndex = (o * k * k + s) * channels + ch, torch = (o * channels + ch) * k * k + s
                            if toPyTorch {
                                out[torch] = values[internalIndex]
                            } else {
                                out[internalIndex] = values[torch]
                            }
                        }
                    }
                }
            } else if index == blockCount {
                let last = convolution.sizes.last!, positions = last.height * last.width, channels = last.channels
                for r in 0..<c.weight.rows {
                    for p in 0..<positions {
                        for ch in 0..<channels {
                            let internalIndex = r * c.weight.columns + p * channels + ch
                            let torch = r * c.weight.columns + ch * positions + p
                            if toPyTorch {
                                out[torch] = values[internalIndex]
                            } else {
                                out[internalIndex] = values[torch]
                            }
                        }
                    }
                }
            }
            return out
        }

        func tensorName(_ index: Int) -> String { index < blockCount ? "convs.\(index)" : "head.\(index - blockCount)" }

        func tensorShape(_ index: Int) -> [Int] {
            let c = network.connections[index]
            if index < blockCount {
                let k = convolution.kernelSize
                return [c.weight.rows, convolution.sizes[index].channels, k, k]
            }
            return [c.weight.rows, c.weight.columns]
        }

        /// The parameters as PyTorch-named tensors.
        func export(_ values: [Float]) -> [NamedTensor] {
            network.connections.indices.flatMap { i -> [NamedTensor] in
                let c = network.connections[i]
                let weight = Array(values[c.weight.offset..<(c.weight.offset + c.weight.count)])
                let bias = Array(values[c.bias!.offset..<(c.bias!.offset + c.bias!.count)])
                return [
                    NamedTensor(
                        "\(tensorName(i)).weight", shape: tensorShape(i),
                        reorder(weight, connection: i, toPyTorch: true)),
                    NamedTensor("\(tensorName(i)).bias", shape: [c.bias!.count], bias),
                ]
            }
        }

        /// Reads the PyTorch-named tensors of `file` into flat parameter values, checking shapes.
        func read(_ file: NamedTensors, into values: inout [Float]) throws {
            for i in network.connections.indices {
                let c = network.connections[i]
                try file.read("\(tensorName(i)).weight", shape: tensorShape(i), into: &values, at: c.weight.offset) {
                    reorder($0, connection: i, toPyTorch: false)
                }
                try file.read("\(tensorName(i)).bias", shape: [c.bias!.count], into: &values, at: c.bias!.offset)
            }
        }
    }
}
