/// What a device implementation provides. `Device` validates every argument before it
/// calls a backend, so backends may assume sizes, offsets and ownership are correct.
protocol ComputeBackend: AnyObject {
    var name: String { get }
    var kind: DeviceKind { get }
    /// Bytes of memory the device has (the machine's RAM for the CPU path).
    var memoryBytes: Int { get }

    func makeStorage(count: Int) throws -> BufferStorage
    func write(_ values: UnsafeBufferPointer<Float>, to slice: BufferSlice) throws
    func read(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws
    func startRead(_ slice: BufferSlice, into values: UnsafeMutableBufferPointer<Float>) throws -> PendingRead
    func synchronize() throws

    // One group per kernel family X: Device+X.swift, CPUBackend+X.swift, OpenCL/OpenCLBackend+X.swift.

    // GEMM (Device+Gemm.swift)
    func gemm(
        _ operation: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice, precision: MatrixPrecision) throws

    // Precision (Device+Precision.swift)
    var bf16Support: BF16Support { get }

    // Elementwise (Device+Elementwise.swift)
    func fill(_ x: BufferSlice, value: Float) throws
    func copy(_ x: BufferSlice, to y: BufferSlice) throws
    func scale(_ x: BufferSlice, by alpha: Float) throws
    func axpy(alpha: Float, x: BufferSlice, y: BufferSlice) throws

    // Bias (Device+Bias.swift)
    func addBias(_ bias: BufferSlice, to x: BufferSlice, rows: Int, columns: Int) throws
    func sumColumns(_ x: BufferSlice, rows: Int, columns: Int, into out: BufferSlice, accumulate: Bool) throws

    // Activation (Device+Activation.swift)
    func activationForward(_ activation: Activation, input: BufferSlice, output: BufferSlice) throws
    func activationBackward(
        _ activation: Activation, input: BufferSlice,
        outputGradient: BufferSlice, inputGradient: BufferSlice) throws

    // Softmax (Device+Softmax.swift)
    func softmaxRows(_ x: BufferSlice, output: BufferSlice, rows: Int, columns: Int) throws
    func softmaxCausal(_ x: BufferSlice, output: BufferSlice, rows: Int, length: Int) throws
    func softmaxBackward(
        output: BufferSlice, outputGradient: BufferSlice, rows: Int, columns: Int,
        inputGradient: BufferSlice) throws

    // AdamW (Device+AdamW.swift)
    func adamW(
        _ hyperparameters: AdamWHyperparameters, step: Int, parameters: BufferSlice,
        gradients: BufferSlice, firstMoments: BufferSlice, secondMoments: BufferSlice,
        clipping: GradientClipping?, decayMask: BufferSlice?) throws
    func squaredNorm(_ x: BufferSlice, into out: BufferSlice) throws

    // Dropout (Device+Dropout.swift)
    func dropout(_ x: BufferSlice, into y: BufferSlice, rate: Float, key: UInt64) throws

    // Loss (Device+Loss.swift)
    func mseLoss(output: BufferSlice, target: BufferSlice, outputGradient: BufferSlice, loss: BufferSlice) throws
    func crossEntropy(
        logits: BufferSlice, labels: BufferSlice, rows: Int, columns: Int, logitGradient: BufferSlice,
        loss: BufferSlice, correct: BufferSlice) throws

    // Embedding (Device+Embedding.swift)
    func embeddingForward(
        tokens: BufferSlice, table: BufferSlice, rows: Int, folds: Int, dimension: Int,
        output: BufferSlice) throws
    func embeddingBackward(
        tokens: BufferSlice, outputGradient: BufferSlice, rows: Int, folds: Int, dimension: Int,
        vocabulary: Int, tableGradient: BufferSlice) throws

    // Permute (Device+Permute.swift)
    func gatherRows(source: BufferSlice, columns: Int, indices: [Int], into destination: BufferSlice) throws
    func gatherRows(source: BufferSlice, columns: Int, deviceIndices: BufferSlice, into destination: BufferSlice) throws
    func permute(_ x: BufferSlice, rows: Int, columns: Int, permutation: [Int], alongRows: Bool) throws

    // LayerNorm (Device+LayerNorm.swift)
    func layerNormForward(
        _ x: BufferSlice, gamma: BufferSlice, beta: BufferSlice, rows: Int, columns: Int, epsilon: Float,
        output: BufferSlice, mean: BufferSlice, rstd: BufferSlice) throws
    func layerNormBackward(
        _ x: BufferSlice, gamma: BufferSlice, outputGradient: BufferSlice, mean: BufferSlice,
        rstd: BufferSlice, rows: Int, columns: Int, inputGradient: BufferSlice,
        gammaGradient: BufferSlice, betaGradient: BufferSlice) throws

    // Attention (Device+Attention.swift)
    func causalAttentionForward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, logSumExp: BufferSlice,
        dropoutRate: Float, dropoutKey: UInt64) throws
    func causalAttentionBackward(
        _ shape: AttentionShape, qkv: BufferSlice, output: BufferSlice, outputGradient: BufferSlice,
        logSumExp: BufferSlice, qkvGradient: BufferSlice, dropoutRate: Float, dropoutKey: UInt64) throws

    // Convolution (Device+Convolution.swift)
    func im2col(_ shape: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws
    func col2im(_ shape: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws

    // Pool (Device+Pool.swift)
    func poolForward(_ shape: PoolShape, input: BufferSlice, output: BufferSlice) throws
    func poolBackward(_ shape: PoolShape, input: BufferSlice, outputGradient: BufferSlice, inputGradient: BufferSlice)
        throws
    func biasActivationPool(
        _ shape: PoolShape, activation: Activation, bias: BufferSlice, preactivation: BufferSlice,
        activated: BufferSlice, output: BufferSlice) throws
    func poolActivationBackward(
        _ shape: PoolShape, activation: Activation, preactivation: BufferSlice, input: BufferSlice,
        outputGradient: BufferSlice, preactivationGradient: BufferSlice, biasGradient: BufferSlice?) throws

    // Connection cost (Device+ConnectionCost.swift, for the math)
    func connectionCost(
        _ pass: ConnectionCostPass, weights: BufferSlice, gradient: BufferSlice?,
        outCoordinates: BufferSlice, inCoordinates: BufferSlice, cost: BufferSlice) throws
    func l1Cost(
        values: BufferSlice, gradient: BufferSlice?, l0: Float, costScale: Float, gradientScale: Float,
        cost: BufferSlice) throws

    // Swap score (Device+SwapScore.swift, for the math)
    func swapScores(
        _ pass: SwapScorePass, weights: BufferSlice, slotCoordinates: BufferSlice,
        otherCoordinates: BufferSlice, scores: BufferSlice) throws
    func unitAbsoluteSums(_ pass: SwapScorePass, weights: BufferSlice, sums: BufferSlice) throws
    func swapDeltas(scores: BufferSlice, units: Int, deltas: BufferSlice) throws
}

/// Where a buffer's elements live.
enum BufferStorage {
    case host(UnsafeMutablePointer<Float>)
    case openCL(OpenCLMemory)

    func release() {
        switch self {
        case let .host(pointer): pointer.deallocate()
        case let .openCL(memory): memory.release()
        }
    }
}

/// What kind of device runs the work.
public enum DeviceKind: Sendable, Equatable, CustomStringConvertible {
    /// The vectorized, multi-threaded host path (OpenBLAS for GEMM).
    case cpu
    /// An OpenCL device; `type` is "GPU", "CPU", "accelerator" or "other".
    case openCL(type: String)

    /// Whether this is an OpenCL backend.
    public var isOpenCL: Bool { if case .openCL = self { true } else { false } }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case let .openCL(type): "OpenCL \(type)"
        }
    }
}
