import Foundation

/// Which GEMM kernel of `Kernels/gemm.cl` an OpenCL device runs.
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

    /// The variant a device of `type` runs for this choice, where `BIMT_GEMM_VARIANT` in
    /// `environment` replaces `automatic` (an explicit choice wins): so a whole run, its MPI
    /// ranks or a test suite can put the GPU's tiled kernel through every path on a CPU device.
    func resolved(deviceType: String, environment: [String: String]) throws -> GemmVariant {
        guard self == .automatic, let text = environment["BIMT_GEMM_VARIANT"], !text.isEmpty else {
            return resolved(deviceType: deviceType)
        }
        guard let chosen = GemmVariant(rawValue: text) else {
            throw ComputeError.invalidArgument(
                "BIMT_GEMM_VARIANT=\(text) is not a GEMM variant; use automatic, tiled or vector")
        }
        return chosen.resolved(deviceType: deviceType)
    }

    /// The tunables that shape this variant's kernel (Kernels/gemm.cl's macros).
    var tunables: [String] {
        switch self {
        case .tiled: ["TSM", "TSN", "TSK", "WPTM", "WPTN", "GVW", "DB", "KSPLIT"]
        case .vector, .automatic: ["VW", "NV", "RM", "LX", "LY", "KC"]
        }
    }
}

/// The tunables of `gemm.cl`, passed to the compiler as `-D` macros. Defaults depend on
/// the device; settings stored by `bimt tune` for the device (`GemmTuningStore`) replace
/// them, and `BIMT_GEMM_TUNING="RM=8,NV=2,LX=4"` overrides any of them for tuning runs.
struct GemmTuning: Equatable {
    // gemm_tiled: tiles, register tiles, floats per global load, double buffering, and the
    // most K splits the host may use when the tiles would leave compute units idle.
    var tsm = 64, tsn = 64, tsk = 16, wptm = 4, wptn = 4, gvw = 4, db = 1, ksplit = 8
    // gemm_vector: block of rm rows x (vw * nv) columns; local size (lx, ly). The defaults
    // won `bimt tune` on PoCL/AVX-512 (2 cores) once B came in packed panels: a work-group of
    // 1 x 16 blocks covers 64 columns x 96 rows of C, so its panel of B and rows of A stay in
    // L2 while the 24 accumulators stay in the 32 vector registers.
    var vw = 16, nv = 4, rm = 6, lx = 1, ly = 16
    // gemm_vector: the deepest k block one launch covers; the host splits deeper products so
    // that a launch's panel of B (KC x VW*NV floats, 256 KiB by default) stays in L2. Without
    // it a 1536 x 384 x 4096 product ran at half the speed of one with K = 1024 on PoCL.
    var kc = 1024

    /// The defaults before any device is considered (gemm.cl has none of its own: every tunable
    /// reaches it as `-D`).
    init() {}

    /// The device's defaults.
    init(defaultsFor device: OpenCLDeviceDescription) {
        if device.isAccelerator {
            // A GPU: 128 x 128 tiles of C, 8 x 8 per work-item (256 work-items of 64 accumulators),
            // four times the work per loaded tile of the 4 x 4 default; kept only where the device
            // runs it (work-group size, local memory). `bimt tune` searches around it.
            var wide = self
            (wide.tsm, wide.tsn, wide.wptm, wide.wptn) = (128, 128, 8, 8)
            if wide.problem(for: .tiled, on: device) == nil { self = wide }
        }
        if device.maxWorkGroupSize < (tsm / wptm) * (tsn / wptn) {
            tsm = 32; tsn = 32; wptm = 4; wptn = 4 // 8 x 8 = 64 work-items
        }
        vw = device.preferredFloatVectorWidth >= 16 ? 16 : 8
        if vw == 8 { nv = 2; rm = 6 } // AVX2: 12 of 16 ymm registers accumulate
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
            case "GVW": t.gvw = value
            case "DB": t.db = value
            case "KSPLIT": t.ksplit = value
            case "VW": t.vw = value
            case "NV": t.nv = value
            case "RM": t.rm = value
            case "LX": t.lx = value
            case "LY": t.ly = value
            case "KC": t.kc = value
            default: continue
            }
        }
        return t
    }

    /// The tunables of `variant` by name.
    func values(for variant: GemmVariant) -> [String: Int] {
        switch variant {
        case .tiled:
            ["TSM": tsm, "TSN": tsn, "TSK": tsk, "WPTM": wptm, "WPTN": wptn, "GVW": gvw, "DB": db, "KSPLIT": ksplit]
        case .vector, .automatic: ["VW": vw, "NV": nv, "RM": rm, "LX": lx, "LY": ly, "KC": kc]
        }
    }

    /// Why these settings cannot run `variant` on `device`, or nil when they can.
    func problem(for variant: GemmVariant, on device: OpenCLDeviceDescription) -> String? {
        switch variant {
        case .tiled:
            guard [tsm, tsn, tsk, wptm, wptn].allSatisfy({ $0 >= 1 }), tsm % wptm == 0, tsn % wptn == 0 else {
                return "TSM and TSN must be positive multiples of WPTM and WPTN"
            }
            let threads = (tsm / wptm) * (tsn / wptn)
            if threads > device.maxWorkGroupSize {
                return "a work-group of \(threads) exceeds the device's \(device.maxWorkGroupSize)"
            }
            guard [1, 2, 4, 8].contains(gvw), db == 0 || db == 1, ksplit >= 1 else {
                return "GVW must be 1, 2, 4 or 8, DB 0 or 1, KSPLIT positive"
            }
            // Every work-item makes the same number of GVW-wide loads per tile, along k or along m / n.
            guard tsk % gvw == 0, tsm % gvw == 0, tsn % gvw == 0, (tsm * tsk) % (gvw * threads) == 0,
                (tsn * tsk) % (gvw * threads) == 0
            else {
                return
                    "GVW must divide TSK, TSM and TSN, "
                    + "and each tile's GVW-wide loads must split evenly over the \(threads) work-items"
            }
            let bytes = 4 * (1 + db) * tsk * (tsm + tsn + 2 * localPad)
            if bytes > device.localMemoryBytes {
                return "tiles of \(bytes) bytes exceed the device's local memory"
            }
        case .vector, .automatic:
            guard [2, 4, 8, 16].contains(vw), [nv, rm, lx, ly, kc].allSatisfy({ $0 >= 1 }) else {
                return "VW must be 2, 4, 8 or 16 and NV, RM, LX, LY, KC positive"
            }
            if lx * ly > device.maxWorkGroupSize {
                return "a work-group of \(lx * ly) exceeds the device's \(device.maxWorkGroupSize)"
            }
        }
        return nil
    }

    /// gemm_tiled's K splits for an m x n x k product (batch of `batch`): 1 unless the tiles
    /// would give fewer than two work-groups per compute unit and K is deep enough for every
    /// split to get at least 4 tiles of TSK; then as many as fill the device, at most KSPLIT.
    /// Returns the splits and the depth of each (a multiple of TSK; the last may be shorter).
    func kSplits(m: Int, n: Int, k: Int, batch: Int, computeUnits: Int) -> (splits: Int, chunk: Int) {
        let groups = ((m + tsm - 1) / tsm) * ((n + tsn - 1) / tsn) * batch, wanted = 2 * max(1, computeUnits)
        guard ksplit > 1, groups < wanted else { return (1, k) }
        let splits = min(ksplit, (wanted + groups - 1) / groups, k / (4 * tsk))
        guard splits > 1 else { return (1, k) }
        let chunk = ((k + splits - 1) / splits + tsk - 1) / tsk * tsk
        return ((k + chunk - 1) / chunk, chunk)
    }

    var defines: String {
        "-DTSM=\(tsm) -DTSN=\(tsn) -DTSK=\(tsk) -DWPTM=\(wptm) "
            + "-DWPTN=\(wptn) -DGVW=\(gvw) -DDB=\(db) -DLPAD=\(localPad) -DVW=\(vw) -DNV=\(nv) -DRM=\(rm)"
    }

    /// Floats after each k-row of gemm_tiled's local tiles (LPAD). A load along k spreads a
    /// warp's stores over TSK / GVW rows; with rows a multiple of 32 floats apart they share
    /// banks (4-way at TSK 16, GVW 4). Padding rows by 32 / TSK floats puts the TSK / GVW
    /// rows' GVW-wide groups of columns side by side in 32 banks.
    var localPad: Int { max(1, 32 / max(1, tsk)) }
}
