/// Precision: Kernels/precision.cl on OpenCL; oneDNN and Sources/CBIMTKernels/precision.c on
/// the CPU path.
///
/// Mixed precision as autocast users know it: parameters, gradients, optimizer moments and
/// every operation other than a matrix product stay fp32. With `.bf16`, a product rounds its
/// operands to bfloat16 (8-bit mantissa, round to nearest even) and accumulates in fp32,
/// writing an fp32 C.

/// The precision of matrix products' operands.
public enum MatrixPrecision: String, Sendable, Equatable, CaseIterable, Codable, CustomStringConvertible {
    /// Operands and accumulation in fp32.
    case fp32
    /// bfloat16 operands, fp32 accumulation and result.
    case bf16

    public var description: String { rawValue }
}

/// What a run asks for: a precision, or `auto` (bf16 where the device computes it natively
/// and fast, fp32 elsewhere).
public enum PrecisionSetting: String, Sendable, Equatable, CaseIterable, Codable, CustomStringConvertible {
    case fp32, bf16, auto

    public var description: String { rawValue }
}

/// Whether a device can run bf16 products, and whether natively.
public struct BF16Support: Sendable, Equatable {
    /// bf16 products run (correctly) on this device.
    public var available: Bool
    /// ... and on hardware that computes bf16 products natively (what `auto` requires).
    public var native: Bool
    /// What the device has or lacks, in words: "AVX512-BF16, oneDNN 2.6.3".
    public var reason: String
}

/// The precision a run chose, and why.
public struct PrecisionChoice: Sendable, Equatable {
    public var precision: MatrixPrecision
    public var explanation: String
}

extension Device {
    /// What this device offers for bf16 products.
    public var bf16Support: BF16Support { backend.bf16Support }

    /// The precision of every matrix product this device runs from now on (fp32 until set):
    /// a setting of the device, so a program that trains at bf16 and then decodes on the same
    /// device decodes at bf16 too. Attention computes in fp32 at either setting.
    public var matrixPrecision: MatrixPrecision { activePrecision }

    /// Sets the precision of matrix products; `.bf16` on a device that cannot run it is an
    /// error naming the device and what it lacks.
    public func setMatrixPrecision(_ precision: MatrixPrecision) throws {
        if precision == .bf16 {
            let support = bf16Support
            guard support.available else {
                throw ComputeError.unavailable("bf16 products are not available on \(name): \(support.reason)")
            }
        }
        activePrecision = precision
    }

    /// Resolves `setting` for this device: `auto` picks bf16 only where it is native; an
    /// explicit `bf16` the device cannot run is an error.
    public func choosePrecision(_ setting: PrecisionSetting) throws -> PrecisionChoice {
        switch setting {
        case .fp32:
            // fp32 asks nothing of the device (nor loads oneDNN).
            return PrecisionChoice(precision: .fp32, explanation: "fp32 (asked for)")
        case .bf16:
            let support = bf16Support
            guard support.available else {
                throw ComputeError.unavailable(
                    "bf16 products are not available on \(name): \(support.reason); use fp32 or auto")
            }
            return PrecisionChoice(
                precision: .bf16,
                explanation: "bf16 (asked for; \(support.reason))")
        case .auto:
            let support = bf16Support
            if support.available && support.native {
                return PrecisionChoice(precision: .bf16, explanation: "bf16 (auto: \(support.reason))")
            }
            return PrecisionChoice(precision: .fp32, explanation: "fp32 (auto: \(support.reason))")
        }
    }
}
