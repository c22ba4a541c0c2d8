import COpenBLAS

/// What the CPU path runs on, for `bimt devices`.
public enum CPUFeatures {
    /// The widest SIMD extensions this processor reports (x86-64: AVX-512, AVX2, FMA, ...).
    public static var simdSummary: String {
        #if arch(x86_64)
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }
            .map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let names = [("avx512f", "AVX-512"), ("avx2", "AVX2"), ("fma", "FMA"), ("sse4_2", "SSE4.2")]
            .filter { flags.contains($0.0) }.map(\.1)
        return names.isEmpty ? "SSE2" : names.joined(separator: ", ")
        #elseif arch(arm64)
        return "NEON"
        #else
        return "unknown"
        #endif
    }

    /// The OpenBLAS core type that fits this processor when OpenBLAS picked kernels older than
    /// it supports (seen in a VM whose CPUID model OpenBLAS did not know: Prescott SSE3 kernels
    /// on an AVX-512 Xeon, which made the CPU path 3-5x slower); nil when its choice fits.
    public static var suggestedBLASCore: String? {
        let old: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
                                "Northwood", "Banias", "Opteron", "Barcelona", "Sandybridge", "Bobcat", "Bulldozer"]
        let core = openblas_get_corename().map { String(cString: $0) } ?? ""
        let simd = simdSummary
        guard old.contains(core), simd.contains("AVX2") else { return nil }
        return simd.contains("AVX-512") ? "SkylakeX" : "Haswell"
    }

    /// A hint when OpenBLAS runs kernels older than the processor supports; nil when its choice fits.
    public static var blasKernelHint: String? {
        guard let suggestion = suggestedBLASCore else { return nil }
        let core = openblas_get_corename().map { String(cString: $0) } ?? ""
        return "OpenBLAS chose its \(core) kernels although this processor has \(simdSummary); "
            + "set OPENBLAS_CORETYPE=\(suggestion) before starting bimt for much faster GEMMs"
    }
}

import Foundation
