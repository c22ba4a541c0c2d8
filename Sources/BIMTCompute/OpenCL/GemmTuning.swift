import Foundation

/// Which GEMM kernel of `Kernels/matmul.cl` an OpenCL device runs.
public enum GemmVariant: String, Sendable, CaseIterable {
    /// Pick by device type: `vector` on CPU-type devices, `tiled` elsewhere.
    case automatic
    /// Local-memory tiles with barriers: the GPU shape.
    case tiled
    /// Barrier-free wide-vector register blocks: the CPU-device shape (PoCL).
    case vector
}

/// The tunables of `matmul.cl`, passed to the compiler as `-D` macros. Defaults depend on
/// the device; `BIMT_GEMM_TUNING="RM=8,NV=2,LX=4"` overrides any of them for tuning runs.
struct GemmTuning: Equatable {
    // gemm_tiled
    var tsm = 64, tsn = 64, tsk = 16, wptm = 4, wptn = 4
    // gemm_vector: block of rm rows x (vw * nv) columns; local size (lx, ly). The defaults
    // won a sweep on PoCL/AVX-512 (2 cores): a work-group of 2 x 16 blocks covers 64 columns
    // x 128 rows of C, so its strips of A and B stay in L2 while the 16 accumulators stay in
    // registers.
    var vw = 16, nv = 2, rm = 8, lx = 2, ly = 16

    init(for device: OpenCLDeviceDescription, environment: [String: String]) {
        if device.maxWorkGroupSize < (tsm / wptm) * (tsn / wptn) {
            tsm = 32; tsn = 32; wptm = 4; wptn = 4   // 8 x 8 = 64 work-items
        }
        vw = device.preferredFloatVectorWidth >= 16 ? 16 : 8
        if vw == 8 { nv = 2; rm = 6 }   // AVX2: 12 of 16 ymm registers accumulate
        if let text = environment["BIMT_GEMM_TUNING"] {
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let value = Int(parts[1]), value > 0 else { continue }
                switch parts[0].uppercased() {
                case "TSM": tsm = value
                case "TSN": tsn = value
                case "TSK": tsk = value
                case "WPTM": wptm = value
                case "WPTN": wptn = value
                case "VW": vw = value
                case "NV": nv = value
                case "RM": rm = value
                case "LX": lx = value
                case "LY": ly = value
                default: continue
                }
            }
        }
    }

    var defines: String {
        "-DTSM=\(tsm) -DTSN=\(tsn) -DTSK=\(tsk) -DWPTM=\(wptm) -DWPTN=\(wptn) -DVW=\(vw) -DNV=\(nv) -DRM=\(rm)"
    }
}
