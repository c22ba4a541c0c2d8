import COpenBLAS
import Foundation

/// What the CPU path runs on, for `bimt devices`.
public enum CPUFeatures {
    /// The widest SIMD extensions this processor reports (x86-64: AVX-512, AVX2, FMA, ...).
    public static var simdSummary: String {
        #if arch(x86_64)
            let flags = processorFlags
            let names = [("avx512f", "AVX-512"), ("avx2", "AVX2"), ("fma", "FMA"), ("sse4_2", "SSE4.2")]
                .filter { flags.contains($0.0) }.map(\.1)
            return names.isEmpty ? "SSE2" : names.joined(separator: ", ")
        #elseif arch(arm64)
            return "NEON"
        #else
            return "unknown"
        #endif
    }

    /// The CPUID feature flags of the first processor as Linux lists them in /proc/cpuinfo (the
    /// kernel's reading of CPUID, less the extensions whose register state the OS does not
    /// save); empty where there is no such file.
    public static let processorFlags: Set<String> = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return Set(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
    }()

    /// What OpenBLAS's Haswell kernels execute: AVX2 and FMA3.
    static let haswellFlags: Set<String> = ["avx2", "fma"]
    /// What its SkylakeX kernels execute besides: AVX-512 Foundation and the VL, BW and DQ
    /// extensions (a processor with AVX-512F alone, such as Knights Landing, lacks BW and DQ).
    static let skylakeXFlags: Set<String> = ["avx512f", "avx512vl", "avx512bw", "avx512dq"]

    /// The OpenBLAS core type that fits this processor when OpenBLAS picked kernels older than
    /// it supports (seen in a VM whose CPUID model OpenBLAS did not know: Prescott SSE3 kernels
    /// on an AVX-512 Xeon, which made the CPU path 3-5x slower); nil when its choice fits.
    /// SkylakeX needs all four AVX-512 flags, Haswell AVX2 and FMA.
    public static var suggestedBLASCore: String? {
        #if arch(x86_64)
            suggestedBLASCore(chosen: openblas_get_corename().map { String(cString: $0) } ?? "", flags: processorFlags)
        #else
            nil
        #endif
    }

    /// The core type for a processor with CPUID `flags` where OpenBLAS chose `chosen`: nil unless
    /// `chosen` is older than Haswell and the flags hold at least Haswell's.
    public static func suggestedBLASCore(chosen: String, flags: Set<String>) -> String? {
        let old: Set<String> = [
            "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
            "Northwood", "Banias", "Opteron", "Barcelona", "Sandybridge", "Bobcat", "Bulldozer",
        ]
        guard old.contains(chosen), haswellFlags.isSubset(of: flags) else { return nil }
        return skylakeXFlags.isSubset(of: flags) ? "SkylakeX" : "Haswell"
    }

    /// A hint when OpenBLAS runs kernels older than the processor supports; nil when its choice fits.
    public static var blasKernelHint: String? {
        guard let suggestion = suggestedBLASCore else { return nil }
        let core = openblas_get_corename().map { String(cString: $0) } ?? ""
        return "OpenBLAS chose its \(core) kernels although this processor has \(simdSummary); "
            + "set OPENBLAS_CORETYPE=\(suggestion) before starting bimt for much faster GEMMs"
    }
}
