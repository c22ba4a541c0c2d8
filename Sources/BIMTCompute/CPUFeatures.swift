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
}

import Foundation
