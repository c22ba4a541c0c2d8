/// Errors of the compute layer. Each case carries what a person needs to fix the problem.
public enum ComputeError: Error, Equatable, CustomStringConvertible {
    /// An OpenCL call returned a status other than `CL_SUCCESS`.
    case openCL(call: String, code: Int32)
    /// An OpenCL program failed to compile; `log` is the compiler's build log.
    case kernelBuildFailed(program: String, device: String, log: String)
    /// Operand shapes or slice sizes that do not fit together; the text names both.
    case shapeMismatch(String)
    /// A size, count or parameter outside its valid range.
    case invalidArgument(String)
    /// A device specification that names no available device.
    case unknownDevice(requested: String, available: [String])
    /// A buffer used with a device other than the one that allocated it.
    case foreignBuffer(String)
    /// A device allocation failed.
    case allocationFailed(device: String, bytes: Int, reason: String)
    /// A capability the device or an optional library lacks (bf16 products without oneDNN,
    /// say); the text says what is missing and how to get it.
    case unavailable(String)

    public var description: String {
        switch self {
        case let .openCL(call, code):
            return "\(call) failed with \(OpenCLStatus.name(code)) (\(code))"
        case let .kernelBuildFailed(program, device, log):
            return "OpenCL program '\(program).cl' failed to build on \(device):\n\(log)"
        case let .shapeMismatch(text):
            return "shape mismatch: \(text)"
        case let .invalidArgument(text):
            return "invalid argument: \(text)"
        case let .unknownDevice(requested, available):
            return "unknown device '\(requested)'; available: \(available.joined(separator: ", "))"
        case let .foreignBuffer(text):
            return "buffer belongs to another device: \(text)"
        case let .allocationFailed(device, bytes, reason):
            return "could not allocate \(bytes) bytes on \(device): \(reason)"
        case let .unavailable(text):
            return text
        }
    }
}
