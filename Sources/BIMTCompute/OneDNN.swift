import CDNNL
import Foundation

/// oneDNN's matmul primitive for the CPU path's bf16 products, loaded at run time (Debian's
/// `libdnnl2`): the binary starts, and trains in fp32, where it is missing. Primitives are
/// created once per shape and kept (creating one JIT-compiles its kernel). One lock serializes
/// its use: the library runs each product on every core, and the shim's stream and a
/// primitive's operand handles are shared between devices in one process.
final class OneDNN: @unchecked Sendable {
    /// The loaded library, or why it could not be loaded (tried once per process).
    nonisolated(unsafe) static let shared: Result<OneDNN, ComputeError> = {
        var reason = [CChar](repeating: 0, count: 512)
        guard bimt_dnnl_load(Int32(processorCount), &reason, reason.count) == 0 else {
            return .failure(
                .unavailable(
                    "oneDNN: "
                        + String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                        + "; install it with `sudo apt-get install libdnnl2` (or run scripts/install-deps)"))
        }
        return .success(OneDNN(version: String(cString: bimt_dnnl_version())))
    }()

    /// "2.6.3".
    let version: String
    private var primitives: [Key: OpaquePointer] = [:]
    private let lock = NSLock()

    /// The implementation oneDNN picks for a bf16 product (e.g. "brg:avx512_core_bf16", or
    /// "brg:avx512_core_amx"): what the processor offers once oneDNN's own limits
    /// (ONEDNN_MAX_CPU_ISA, a virtual machine's) apply; nil when it has none.
    let bf16Implementation: String?

    private init(version: String) {
        self.version = version
        var shape = bimt_dnnl_shape()
        shape.bf16 = 1
        (shape.batch, shape.batchB, shape.m, shape.n, shape.k) = (1, 1, 64, 64, 64)
        (shape.strideA, shape.strideB, shape.strideC) = ((4096, 64, 1), (4096, 64, 1), (4096, 64, 1))
        (shape.alpha, shape.beta) = (1, 0)
        var reason = [CChar](repeating: 0, count: 256)
        if let probe = bimt_dnnl_matmul_create(&shape, &reason, reason.count) {
            bf16Implementation = String(cString: bimt_dnnl_matmul_implementation(probe))
            bimt_dnnl_matmul_destroy(probe)
        } else {
            bf16Implementation = nil
        }
    }

    /// What identifies a primitive: the shape with every stride, the scales and the types.
    struct Key: Hashable {
        var bf16: Bool
        var batch, batchB, m, n, k: Int
        var strideA, strideB, strideC: [Int]
        var alpha, beta: Float
    }

    /// The primitive for `key`, created on first use (call with the lock held).
    private func primitive(_ key: Key) throws -> OpaquePointer {
        if let found = primitives[key] { return found }
        var shape = bimt_dnnl_shape()
        shape.bf16 = key.bf16 ? 1 : 0
        (shape.batch, shape.batchB) = (Int64(key.batch), Int64(key.batchB))
        (shape.m, shape.n, shape.k) = (Int64(key.m), Int64(key.n), Int64(key.k))
        func triple(_ s: [Int]) -> (Int64, Int64, Int64) { (Int64(s[0]), Int64(s[1]), Int64(s[2])) }
        (shape.strideA, shape.strideB, shape.strideC) = (triple(key.strideA), triple(key.strideB), triple(key.strideC))
        (shape.alpha, shape.beta) = (key.alpha, key.beta)
        var reason = [CChar](repeating: 0, count: 512)
        guard let created = bimt_dnnl_matmul_create(&shape, &reason, reason.count) else {
            throw ComputeError.unavailable(
                String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    + "; train with --precision fp32 (or Device.setMatrixPrecision(.fp32))")
        }
        // Shapes in a training run are few; a long-running process that sees many (varying
        // chunk sizes) starts over rather than growing without bound.
        if primitives.count >= 512 { releaseAll() }
        primitives[key] = created
        return created
    }

    /// Runs the product of `key` on these operands and waits for it.
    func run(_ key: Key, a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutablePointer<Float>) throws {
        let status = try lock.withLock { bimt_dnnl_matmul_run(try primitive(key), a, b, c) }
        guard status == 0 else {
            throw ComputeError.unavailable(
                "oneDNN \(version) failed to run a \(key.m)x\(key.n)x\(key.k) matmul (status \(status)); "
                    + "train with --precision fp32 (or Device.setMatrixPrecision(.fp32))")
        }
    }

    /// Primitives created and kept.
    var primitiveCount: Int { lock.withLock { primitives.count } }

    private func releaseAll() {
        for primitive in primitives.values { bimt_dnnl_matmul_destroy(primitive) }
        primitives.removeAll()
    }
}
