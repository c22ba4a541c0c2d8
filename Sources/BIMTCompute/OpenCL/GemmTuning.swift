import Foundation

/// Which GEMM kernel of `Kernels/matmul.cl` an OpenCL device runs.
public enum GemmVariant: String, Sendable, CaseIterable, Codable {
    /// Pick by device type: `vector` on CPU-type devices, `tiled` elsewhere.
    case automatic
    /// Local-memory tiles with barriers: the GPU shape.
    case tiled
    /// Barrier-free wide-vector register blocks: the CPU-device shape (PoCL).
    case vector

    /// The variant a device of `type` ("CPU", "GPU", ...) runs for this choice.
    func resolved(deviceType: String) -> GemmVariant {
        self != .automatic ? self : (deviceType == "CPU" ? .vector : .tiled)
    }

    /// The tunables that shape this variant's kernel (Kernels/matmul.cl's macros).
    var tunables: [String] {
        switch self {
        case .tiled: ["TSM", "TSN", "TSK", "WPTM", "WPTN"]
        case .vector, .automatic: ["VW", "NV", "RM", "LX", "LY"]
        }
    }
}

/// The tunables of `matmul.cl`, passed to the compiler as `-D` macros. Defaults depend on
/// the device; settings stored by `bimt tune` for the device (`GemmTuningStore`) replace
/// them, and `BIMT_GEMM_TUNING="RM=8,NV=2,LX=4"` overrides any of them for tuning runs.
struct GemmTuning: Equatable {
    // gemm_tiled
    var tsm = 64, tsn = 64, tsk = 16, wptm = 4, wptn = 4
    // gemm_vector: block of rm rows x (vw * nv) columns; local size (lx, ly). The defaults
    // won a sweep on PoCL/AVX-512 (2 cores): a work-group of 2 x 16 blocks covers 64 columns
    // x 128 rows of C, so its strips of A and B stay in L2 while the 16 accumulators stay in
    // registers.
    var vw = 16, nv = 2, rm = 8, lx = 2, ly = 16

    /// The device's defaults.
    init(defaultsFor device: OpenCLDeviceDescription) {
        if device.maxWorkGroupSize < (tsm / wptm) * (tsn / wptn) {
            tsm = 32; tsn = 32; wptm = 4; wptn = 4   // 8 x 8 = 64 work-items
        }
        vw = device.preferredFloatVectorWidth >= 16 ? 16 : 8
        if vw == 8 { nv = 2; rm = 6 }   // AVX2: 12 of 16 ymm registers accumulate
    }

    /// Defaults, then `stored` (the device's entry in `GemmTuningStore`), then the environment.
    init(for device: OpenCLDeviceDescription, environment: [String: String], stored: [String: Int]?) {
        self.init(defaultsFor: device)
        if let stored { self = self.applying(stored) }
        if let text = environment["BIMT_GEMM_TUNING"] {
            var values: [String: Int] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let value = Int(parts[1]), value > 0 else { continue }
                values[parts[0].uppercased()] = value
            }
            self = self.applying(values)
        }
    }

    /// These settings with the named tunables replaced (unknown names are ignored).
    func applying(_ values: [String: Int]) -> GemmTuning {
        var t = self
        for (name, value) in values {
            switch name {
            case "TSM": t.tsm = value
            case "TSN": t.tsn = value
            case "TSK": t.tsk = value
            case "WPTM": t.wptm = value
            case "WPTN": t.wptn = value
            case "VW": t.vw = value
            case "NV": t.nv = value
            case "RM": t.rm = value
            case "LX": t.lx = value
            case "LY": t.ly = value
            default: continue
            }
        }
        return t
    }

    /// The tunables of `variant` by name.
    func values(for variant: GemmVariant) -> [String: Int] {
        switch variant {
        case .tiled: ["TSM": tsm, "TSN": tsn, "TSK": tsk, "WPTM": wptm, "WPTN": wptn]
        case .vector, .automatic: ["VW": vw, "NV": nv, "RM": rm, "LX": lx, "LY": ly]
        }
    }

    /// Why these settings cannot run `variant` on `device`, or nil when they can.
    func problem(for variant: GemmVariant, on device: OpenCLDeviceDescription) -> String? {
        switch variant {
        case .tiled:
            guard [tsm, tsn, tsk, wptm, wptn].allSatisfy({ $0 >= 1 }), tsm % wptm == 0, tsn % wptn == 0 else {
                return "TSM and TSN must be positive multiples of WPTM and WPTN"
            }
            if (tsm / wptm) * (tsn / wptn) > device.maxWorkGroupSize {
                return "a work-group of \((tsm / wptm) * (tsn / wptn)) exceeds the device's \(device.maxWorkGroupSize)"
            }
            if 4 * tsk * (tsm + tsn) > device.localMemoryBytes {
                return "tiles of \(4 * tsk * (tsm + tsn)) bytes exceed the device's local memory"
            }
        case .vector, .automatic:
            guard [2, 4, 8, 16].contains(vw), [nv, rm, lx, ly].allSatisfy({ $0 >= 1 }) else {
                return "VW must be 2, 4, 8 or 16 and NV, RM, LX, LY positive"
            }
            if lx * ly > device.maxWorkGroupSize { return "a work-group of \(lx * ly) exceeds the device's \(device.maxWorkGroupSize)" }
        }
        return nil
    }

    var defines: String {
        "-DTSM=\(tsm) -DTSN=\(tsn) -DTSK=\(tsk) -DWPTM=\(wptm) -DWPTN=\(wptn) -DVW=\(vw) -DNV=\(nv) -DRM=\(rm)"
    }
}
