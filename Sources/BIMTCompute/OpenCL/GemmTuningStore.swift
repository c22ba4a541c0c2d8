import Foundation

/// GEMM settings found by `bimt tune`, one entry per (device, driver, variant), in a JSON file
/// beside the kernel cache: `$BIMT_GEMM_TUNING_FILE`, else `gemm-tuning.json` in the kernel
/// cache's directory (`KernelBinaryCache`). Every entry was verified against the CPU path
/// before it was stored. A file that cannot be read as one is ignored with a warning, as is
/// an entry whose settings cannot run on its device; the defaults are used instead.
public struct GemmTuningStore: Sendable, Equatable {
    /// One device's winner.
    public struct Entry: Codable, Sendable, Equatable {
        /// CL_DEVICE_NAME, CL_PLATFORM_NAME and CL_DRIVER_VERSION of the tuned device.
        public var device: String, platform: String, driver: String
        /// "vector" or "tiled".
        public var variant: String
        /// Tunable name (gemm.cl's macro) to value.
        public var values: [String: Int]
        /// Geometric means of GFLOP/s over the tuned shapes: with these settings and with the defaults.
        public var gflops: Double, defaultGflops: Double
        /// The shapes tuned on, "MxNxK" with their transposes.
        public var shapes: [String]
        /// The work-group sizes `WorkGroupTuner` found fastest on the device (group,
        /// pointwise, row, reduction), with the seconds of its workload with them and with the
        /// device class's sizes; nil where they were not tuned (files written before they were).
        public var groups: [String: Int]? = nil
        public var groupSeconds: Double? = nil, defaultGroupSeconds: Double? = nil
    }

    struct File: Codable {
        var format: String
        var version: Int
        var entries: [Entry]
    }

    static let format = "bimt-gemm-tuning"

    /// Where the file lives (nil: nowhere, the kernel cache is off and no file was named).
    public let url: URL?
    /// The entries read.
    public private(set) var entries: [Entry]
    /// What was wrong with the file or its entries, one line each.
    public private(set) var warnings: [String]

    /// The store at the default place for this environment.
    public static var fromEnvironment: GemmTuningStore {
        GemmTuningStore(url: defaultURL(ProcessInfo.processInfo.environment))
    }

    static func defaultURL(_ environment: [String: String]) -> URL? {
        if let path = environment["BIMT_GEMM_TUNING_FILE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return KernelBinaryCache(environment: environment).directory?.appending(path: "gemm-tuning.json")
    }

    /// Reads the file at `url` (none there: no entries, no warning).
    public init(url: URL?) {
        self.url = url
        entries = []
        warnings = []
        guard let url, let data = try? Data(contentsOf: url) else { return }
        guard let file = try? JSONDecoder().decode(File.self, from: data) else {
            warnings.append(
                "ignoring \(url.path): not a readable GEMM tuning file; "
                    + "using the default GEMM settings (run `bimt tune` to rewrite it)"
            )
            return
        }
        guard file.format == Self.format, file.version == 1 else {
            warnings.append(
                "ignoring \(url.path): format '\(file.format)' version \(file.version) "
                    + "is not \(Self.format) version 1; using the default GEMM settings"
            )
            return
        }
        entries = file.entries
    }

    /// The stored entry for `device` and `variant`; an entry whose settings cannot run there
    /// is left out, with the reason.
    func entry(for device: OpenCLDeviceDescription, variant: GemmVariant) -> (entry: Entry?, problem: String?) {
        guard
            let entry = entries.first(where: {
                $0.device == device.name && $0.platform == device.platformName && $0.driver == device.driverVersion
                    && $0.variant == variant.rawValue
            })
        else { return (nil, nil) }
        let problem =
            Set(entry.values.keys) != Set(variant.tunables)
            ? "it does not name exactly \(variant.tunables.joined(separator: ", "))"
            : GemmTuning(defaultsFor: device).applying(entry.values).problem(for: variant, on: device)
        guard let problem else { return (entry, nil) }
        return (nil, "ignoring the stored GEMM tuning for \(device.name): \(problem); using the defaults")
    }

    /// The entry of the OpenCL device `device` as it runs (its GEMM variant): the stored one,
    /// or, where none is stored (or it cannot run there), one holding the device's current GEMM
    /// settings, unmeasured (0 GFLOP/s, no shapes): what a work-group search alone stores its
    /// sizes in. Nil on the CPU path.
    public func entryOrCurrent(for device: Device) -> Entry? {
        guard let backend = device.backend as? OpenCLBackend else { return nil }
        if let stored = entry(for: backend.device, variant: backend.gemmVariant).entry { return stored }
        return Entry(
            device: backend.device.name, platform: backend.device.platformName, driver: backend.device.driverVersion,
            variant: backend.gemmVariant.rawValue, values: backend.tuning.values(for: backend.gemmVariant), gflops: 0,
            defaultGflops: 0, shapes: [])
    }

    /// The stored work-group sizes for `device` (with the entry of `variant`); sizes that
    /// cannot run there are left out, with the reason.
    func groups(for device: OpenCLDeviceDescription, variant: GemmVariant) -> (groups: WorkGroups?, problem: String?) {
        guard let values = entry(for: device, variant: variant).entry?.groups else { return (nil, nil) }
        guard let groups = WorkGroups(values: values) else {
            return (
                nil,
                "ignoring the stored work-group sizes for \(device.name): they do not name exactly "
                    + WorkGroups.names.joined(separator: ", ") + "; using the device class's"
            )
        }
        if let problem = groups.problem(maxWorkGroupSize: device.maxWorkGroupSize) {
            return (
                nil, "ignoring the stored work-group sizes for \(device.name): \(problem); using the device class's"
            )
        }
        return (groups, nil)
    }

    /// Adds `entry`, replacing the one for the same device, driver and variant (whose
    /// work-group sizes it keeps when `entry` has none: a GEMM-only tuning does not undo an
    /// earlier work-group search), and writes the file atomically.
    public mutating func store(_ entry: Entry) throws {
        guard let url else {
            throw ComputeError.invalidArgument(
                "nowhere to store GEMM tuning: the kernel cache is off; set BIMT_GEMM_TUNING_FILE")
        }
        var entry = entry
        let same = { (other: Entry) in
            other.device == entry.device && other.platform == entry.platform && other.driver == entry.driver
                && other.variant == entry.variant
        }
        if entry.groups == nil, let earlier = entries.first(where: same) {
            (entry.groups, entry.groupSeconds, entry.defaultGroupSeconds) =
                (earlier.groups, earlier.groupSeconds, earlier.defaultGroupSeconds)
        }
        entries.removeAll(where: same)
        entries.append(entry)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(format: Self.format, version: 1, entries: entries))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url, options: .atomic)
    }
}
