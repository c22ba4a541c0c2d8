/// Errors of the BIMT layer: each names the layer, connection or setting at fault.
public enum BIMTError: Error, Equatable, CustomStringConvertible {
    /// A layout that cannot be built (bad size, folds that do not divide, non-square grid).
    case invalidLayout(layer: String, reason: String)
    /// A connection, parameter or group whose shape disagrees with its layers.
    case shapeMismatch(String)
    /// A setting outside its valid range.
    case invalidSetting(String)
    /// A configuration field (as `config.json` names it, e.g. `transformer.heads`) that
    /// cannot work, and why.
    case invalidField(field: String, reason: String)
    /// A file that cannot be read as what it claims to be (safetensors, IDX, JSON).
    case invalidFile(path: String, reason: String)
    /// Training produced NaN or infinity: what became non-finite, and the step.
    case diverged(what: String, step: Int)
    /// A data-parallel run that cannot go on: MPI missing or failing, ranks that disagree,
    /// a rank that died or hangs. The text names the ranks.
    case distributed(String)

    public var description: String {
        switch self {
        case let .invalidLayout(layer, reason): "layer '\(layer)': \(reason)"
        case let .shapeMismatch(text): "shape mismatch: \(text)"
        case let .invalidSetting(text): "invalid setting: \(text)"
        case let .invalidField(field, reason): "invalid \(field): \(reason)"
        case let .invalidFile(path, reason): "\(path): \(reason)"
        case let .diverged(what, step):
            "training diverged: \(what) became non-finite (NaN or infinity) by step \(step); "
                + "stopped, and the last checkpoint is "
                + "kept as it was. Lower the learning rate or lambda."
        case let .distributed(text): text
        }
    }
}
