import BIMTCompute

/// What the trainer needs of a model: one flat parameter buffer (and its gradient and AdamW
/// moments), its spatial network on the device, forward and backward, and its
/// PyTorch-named checkpoint tensors.
public protocol TrainableModel: AnyObject {
    var device: Device { get }
    var geometry: SpatialGeometry { get }
    var parameters: Buffer { get }
    var gradients: Buffer { get }
    var firstMoments: Buffer { get }
    var secondMoments: Buffer { get }
    var outputWidth: Int { get }
    /// Token inputs (the input layer's moves then permute the table, not the data).
    var embedding: EmbeddingSpec? { get }
    /// Largest number of rows one forward pass should take (evaluation goes in chunks).
    var maximumRows: Int { get }

    /// The flat ranges of the tensors of rank 2 or more (weights, kernels, embedding and
    /// position tables): where `WeightDecayScope.matrices` applies weight decay.
    var matrixRanges: [Range<Int>] { get }
    /// Throws when `data` do not fit the model (widths, token inputs, sequence lengths) or
    /// `loss` cannot score them, naming what differs.
    func check(_ data: TaskData, loss: LossKind) throws
    func initialize(seed: UInt64) throws
    /// The key of the next forward and backward pass's dropout masks (nil: evaluation, no dropout).
    func setDropoutKey(_ key: UInt64?)
    func forward(input: BufferSlice, rows: Int) throws -> BufferSlice
    func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice) throws
    /// `backward`, telling `gradientsReady` as it goes from how far on its gradients are
    /// final (a flat offset: every gradient at that offset and above is done); a data-parallel
    /// run starts summing those over the ranks while the rest of the pass runs.
    func backward(input: BufferSlice, rows: Int, outputGradient: BufferSlice, gradientsReady: (Int) throws -> Void)
        throws
    /// The parameters as named tensors in PyTorch's layout.
    func exportTensors(_ values: [Float]) -> [NamedTensor]
    /// Reads the named tensors of `file` into flat parameter values (shapes checked).
    func importTensors(from file: NamedTensors, into values: inout [Float]) throws
}

extension TrainableModel {
    /// A model that does not report its progress has its gradients final at the end.
    public func backward(
        input: BufferSlice, rows: Int, outputGradient: BufferSlice, gradientsReady: (Int) throws -> Void
    ) throws {
        try backward(input: input, rows: rows, outputGradient: outputGradient)
        try gradientsReady(0)
    }

    /// Models without dropout ignore the key.
    public func setDropoutKey(_ key: UInt64?) {}
    /// The layers, their layouts and connections.
    public var network: SpatialNetwork { geometry.network }
    /// Parameters in all.
    public var parameterCount: Int { parameters.count }
}

/// A model's four flat buffers of one size: parameters, their gradient and AdamW's two
/// moments (the gradient and moments start at zero).
struct ParameterBuffers {
    let parameters: Buffer, gradients: Buffer, firstMoments: Buffer, secondMoments: Buffer

    init(count: Int, device: Device) throws {
        parameters = try device.makeBuffer(count: count)
        gradients = try device.makeBuffer(count: count)
        firstMoments = try device.makeBuffer(count: count)
        secondMoments = try device.makeBuffer(count: count)
        for buffer in [gradients, firstMoments, secondMoments] { try device.fill(buffer.whole, value: 0) }
    }
}

/// PyTorch's `nn.Linear` over a flat parameter buffer: the forward and backward every model
/// here is built from (MLP layers, conv layers over im2col columns, transformer projections).
extension Device {
    /// y = x W^T + b for x [rows, in] and W [out, in] (`weight` and `bias` views into
    /// `parameters`); `accumulate` adds x W^T into y instead of overwriting it.
    func linear(
        _ x: BufferSlice, weight: ParameterView, bias: ParameterView?, parameters: Buffer, rows: Int,
        into y: BufferSlice, accumulate: Bool = false
    ) throws {
        try gemm(
            GemmOperation(m: rows, n: weight.rows, k: weight.columns, transposeB: true, beta: accumulate ? 1 : 0),
            a: x, b: parameters.slice(offset: weight.offset, count: weight.count), c: y)
        if let bias {
            try addBias(
                parameters.slice(offset: bias.offset, count: bias.count), to: y, rows: rows, columns: weight.rows)
        }
    }

    /// dW += dy^T x and db += the column sums of dy (into `gradients`); dx = dy W when
    /// `inputGradient` is given (overwritten, or added to with `accumulateInput`).
    func linearBackward(
        _ x: BufferSlice, weight: ParameterView, bias: ParameterView?, parameters: Buffer, gradients: Buffer,
        rows: Int, outputGradient dy: BufferSlice, inputGradient dx: BufferSlice?,
        accumulateInput: Bool = false
    ) throws {
        try gemm(
            GemmOperation(m: weight.rows, n: weight.columns, k: rows, transposeA: true, beta: 1),
            a: dy, b: x, c: gradients.slice(offset: weight.offset, count: weight.count))
        if let bias {
            try sumColumns(
                dy, rows: rows, columns: weight.rows, into: gradients.slice(offset: bias.offset, count: bias.count),
                accumulate: true)
        }
        if let dx {
            try gemm(
                GemmOperation(m: rows, n: weight.columns, k: weight.rows, beta: accumulateInput ? 1 : 0), a: dy,
                b: parameters.slice(offset: weight.offset, count: weight.count), c: dx)
        }
    }
}
