import CBIMTKernels

// The CPU twin of Kernels/precision.cl: fp32 to bf16 words (Sources/CBIMTKernels/precision.c),
// and what the processor and oneDNN offer for bf16 products.
extension CPUBackend {
    /// Native where oneDNN's bf16 product runs on AMX or AVX512-BF16 (its implementation
    /// says which); emulated by oneDNN on other AVX-512 processors; unavailable without
    /// AVX-512 or without oneDNN.
    var bf16Support: BF16Support {
        let flags = CPUFeatures.processorFlags
        guard CPUFeatures.skylakeXFlags.isSubset(of: flags) else {
            return BF16Support(
                available: false, native: false,
                reason: "bf16 products on the CPU path need AVX-512 (oneDNN's bf16 kernels), and this processor has "
                    + CPUFeatures.simdSummary)
        }
        let dnnl: OneDNN
        switch OneDNN.shared {
        case let .failure(error): return BF16Support(available: false, native: false, reason: error.description)
        case let .success(loaded): dnnl = loaded
        }
        guard let implementation = dnnl.bf16Implementation else {
            return BF16Support(
                available: false, native: false,
                reason: "oneDNN \(dnnl.version) offers no bf16 product on this processor")
        }
        let unit = implementation.contains("amx") ? "AMX-BF16" : implementation.contains("bf16") ? "AVX512-BF16" : nil
        if let unit {
            return BF16Support(available: true, native: true, reason: "\(unit), oneDNN \(dnnl.version)")
        }
        return BF16Support(
            available: true, native: false,
            reason: "no AMX-BF16 or AVX512-BF16 (oneDNN \(dnnl.version) chose \(implementation)): it emulates bf16 "
                + "with AVX-512 instructions")
    }

    /// `batch` stored matrices of `rows` x `columns` (leading dimension `ld`, `stride` floats
    /// apart) as dense bf16 words at `into` (rows x columns apart), over the cores when large.
    static func packBF16(
        _ x: UnsafePointer<Float>, rows: Int, columns: Int, ld: Int, batch: Int, stride: Int,
        into y: UnsafeMutablePointer<UInt16>
    ) {
        let shared = UncheckedSendable((x, y))
        let grain = max(1, (1 << 15) / columns)
        parallelChunks(batch * rows, grain: grain) { range in
            let (x, y) = shared.value
            var row = range.lowerBound
            while row < range.upperBound {
                let entry = row / rows, first = row % rows, count = min(rows - first, range.upperBound - row)
                bimt_bf16_from_rows(
                    Int32(count), Int32(columns), x + entry * stride + first * ld, ld, y + row * columns)
                row += count
            }
        }
    }
}
