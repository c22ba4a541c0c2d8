/// What `--device` asks for: `auto`, `cpu`, `opencl` or `opencl:P:D`.
public enum DeviceSpecifier: Equatable, Sendable, CustomStringConvertible {
    /// An OpenCL GPU or accelerator if there is one, else the CPU path.
    case automatic
    case cpu
    /// The first OpenCL device of any type (PoCL's CPU device on a machine without a GPU).
    case anyOpenCL
    case openCL(platform: Int, device: Int)

    /// Parses a `--device` value; an unknown value is an error that lists the valid forms.
    public init(parsing text: String) throws {
        let lowered = text.lowercased()
        switch lowered {
        case "auto": self = .automatic
        case "cpu": self = .cpu
        case "opencl": self = .anyOpenCL
        default:
            let parts = lowered.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 3, parts[0] == "opencl", let p = Int(parts[1]), let d = Int(parts[2]), p >= 0, d >= 0 {
                self = .openCL(platform: p, device: d)
            } else {
                throw ComputeError.unknownDevice(requested: text, available: DeviceSpecifier.availableNames())
            }
        }
    }

    public var description: String {
        switch self {
        case .automatic: "auto"
        case .cpu: "cpu"
        case .anyOpenCL: "opencl"
        case let .openCL(p, d): "opencl:\(p):\(d)"
        }
    }

    /// Every value `--device` accepts on this machine, with the device each one names.
    public static func availableNames() -> [String] {
        var names = ["auto", "cpu"]
        let devices = (try? OpenCLDiscovery.devices()) ?? []
        if !devices.isEmpty { names.append("opencl") }
        names += devices.map { "\($0.specifier) (\($0.name), \($0.type))" }
        return names
    }
}

extension Device {
    /// Opens the device `specifier` names. `auto` prefers an OpenCL GPU or accelerator and
    /// falls back to the CPU path when OpenCL has none (or no platform at all);
    /// `selectionNote` says in one line what was picked and why.
    /// `gemmTuning` builds an OpenCL device's GEMM with these tunables instead of its own;
    /// `workGroups` (group, pointwise, row, reduction) sets its work-group sizes likewise;
    /// `gemmTuningStore` is where its stored tuning is read (nil: `GemmTuningStore.fromEnvironment`).
    public static func open(
        _ specifier: DeviceSpecifier, gemmVariant: GemmVariant = .automatic,
        gemmTuning: [String: Int]? = nil, workGroups: [String: Int]? = nil, gemmTuningStore: GemmTuningStore? = nil
    ) throws
        -> (device: Device, selectionNote: String)
    {
        let groups = try workGroups.map { values in
            guard let groups = WorkGroups(values: values) else {
                throw ComputeError.invalidArgument(
                    "work-group sizes must name exactly " + WorkGroups.names.joined(separator: ", ")
                        + ", got \(values.keys.sorted())")
            }
            return groups
        }
        switch specifier {
        case .cpu:
            let device = Device.cpu()
            return (device, "device: \(device.name)")
        case .automatic:
            let handles: [OpenCLDiscovery.Handle]
            do { handles = try OpenCLDiscovery.handles() } catch {
                let device = Device.cpu()
                return (device, "device: \(device.name) (OpenCL unavailable: \(error))")
            }
            if let handle = handles.first(where: { $0.description.isAccelerator }) {
                let device = Device(
                    backend: try OpenCLBackend(
                        handle: handle, gemmVariant: gemmVariant, gemmTuning: gemmTuning, workGroups: groups,
                        tuningStore: gemmTuningStore))
                return (device, "device: \(device.name) (auto: first OpenCL GPU/accelerator)")
            }
            let device = Device.cpu()
            let others =
                handles.isEmpty
                ? (OpenCLDiscovery.unavailableReason.map { "OpenCL unavailable: \($0)" }
                    ?? "no OpenCL platform with devices")
                : "no OpenCL GPU; \(handles.count) OpenCL CPU-type device(s) available as device 'opencl'"
            return (device, "device: \(device.name) (auto: \(others))")
        case .anyOpenCL:
            guard let handle = try OpenCLDiscovery.handles().first else {
                throw ComputeError.unknownDevice(requested: "opencl", available: DeviceSpecifier.availableNames())
            }
            let device = Device(
                backend: try OpenCLBackend(
                    handle: handle, gemmVariant: gemmVariant, gemmTuning: gemmTuning, workGroups: groups,
                    tuningStore: gemmTuningStore))
            return (device, "device: \(device.name)")
        case let .openCL(p, d):
            guard
                let handle = try OpenCLDiscovery.handles().first(where: {
                    $0.description.platformIndex == p && $0.description.deviceIndex == d
                })
            else {
                throw ComputeError.unknownDevice(
                    requested: specifier.description,
                    available: DeviceSpecifier.availableNames())
            }
            let device = Device(
                backend: try OpenCLBackend(
                    handle: handle, gemmVariant: gemmVariant, gemmTuning: gemmTuning, workGroups: groups,
                    tuningStore: gemmTuningStore))
            return (device, "device: \(device.name)")
        }
    }

    /// The GEMM tunables an OpenCL device's kernel is built with, by macro name (nil on the CPU path).
    public var gemmTuning: [String: Int]? {
        (backend as? OpenCLBackend).map { $0.tuning.values(for: $0.gemmVariant) }
    }

    /// The work-group sizes an OpenCL device's kernels run with (group, pointwise, row,
    /// reduction; nil on the CPU path).
    public var workGroups: [String: Int]? { (backend as? OpenCLBackend)?.groups.values }

    /// The OpenCL device's description (nil on the CPU path).
    public var openCLDescription: OpenCLDeviceDescription? { (backend as? OpenCLBackend)?.device }

    /// The GEMM kernel variant an OpenCL device runs (nil on the CPU path).
    public var gemmVariant: GemmVariant? {
        (backend as? OpenCLBackend)?.gemmVariant
    }
}

extension DeviceSpecifier {
    /// The device process `localRank` of `localSize` on one node takes: `opencl` and `auto`
    /// give each process the node's OpenCL GPU of its local rank (`opencl` counts every OpenCL
    /// device where the node has no GPU; `auto` falls back to the CPU path then); `cpu` and an
    /// explicit `opencl:P:D` are shared. A local rank past the node's devices is an error that
    /// says how many there are and how to start fewer processes per node.
    public func forLocalRank(_ localRank: Int, of localSize: Int) throws -> DeviceSpecifier {
        guard localSize > 1 else { return self }
        switch self {
        case .cpu, .openCL: return self
        case .automatic, .anyOpenCL:
            let handles = (try? OpenCLDiscovery.handles()) ?? []
            let accelerators = handles.filter { $0.description.isAccelerator }
            let candidates = accelerators.isEmpty && self == .anyOpenCL ? handles : accelerators
            if candidates.isEmpty && self == .automatic { return .cpu }
            guard localRank < candidates.count else {
                let kind = accelerators.isEmpty ? "OpenCL device" : "OpenCL GPU"
                throw ComputeError.invalidArgument(
                    "local rank \(localRank) of \(localSize) on this node takes the node's \(kind) \(localRank), "
                        + "but the node has \(candidates.count). "
                        + "Start at most \(candidates.count) process(es) per node "
                        + "(mpirun --map-by ppr:\(max(1, candidates.count)):node), name one device for all ranks "
                        + "(opencl:P:D), or use the CPU path (cpu)")
            }
            let chosen = candidates[localRank].description
            return .openCL(platform: chosen.platformIndex, device: chosen.deviceIndex)
        }
    }
}
