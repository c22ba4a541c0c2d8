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

    /// A hint when OpenBLAS picked kernels older than the processor supports (seen in a VM
    /// whose CPUID model OpenBLAS did not know: Prescott SSE3 kernels on an AVX-512 Xeon,
    /// which made the CPU path 3x slower); nil when its choice fits.
    public static var blasKernelHint: String? {
        let old: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Coppermine",
                                "Northwood", "Banias", "Opteron", "Barcelona", "Sandybridge", "Bobcat", "Bulldozer"]
        let core = openblas_get_corename().map { String(cString: $0) } ?? ""
        let simd = simdSummary
        guard old.contains(core), simd.contains("AVX2") else { return nil }
        let suggestion = simd.contains("AVX-512") ? "SkylakeX" : "Haswell"
        return "OpenBLAS chose its \(core) kernels although this processor has \(simd); "
            + "set OPENBLAS_CORETYPE=\(suggestion) before starting bimt for much faster GEMMs"
    }
}

import Foundation
