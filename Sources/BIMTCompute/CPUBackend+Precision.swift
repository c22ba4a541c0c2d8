import CBIMTKernels

// The CPU twin of Kernels/precision.cl: fp32 to bf16 words (Sources/CBIMTKernels/precision.c),
// and what the processor and oneDNN offer for bf16 products.
extension CPUBackend {
    /// Native with AMX or AVX512-BF16; emulated by oneDNN on other AVX-512 processors;
    /// unavailable without oneDNN or AVX-512.
    var bf16Support: BF16Support {
        let dnnl: OneDNN
        switch OneDNN.shared {
        case let .failure(error): return BF16Support(available: false, native: false, reason: error.description)
        case let .success(loaded): dnnl = loaded
        }
        let flags = CPUFeatures.processorFlags
        if let unit = [("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16")].first(where: { flags.contains($0.0) })
        {
            return BF16Support(available: true, native: true, reason: "\(unit.1), oneDNN \(dnnl.version)")
        }
        if CPUFeatures.skylakeXFlags.isSubset(of: flags) {
            return BF16Support(
                available: true, native: false,
                reason: "no AMX-BF16 or AVX512-BF16: oneDNN \(dnnl.version) emulates bf16 with AVX-512, "
                    + "no faster than fp32")
        }
        return BF16Support(
            available: false, native: false,
            reason: "oneDNN \(dnnl.version) computes bf16 products only with AVX-512, and this processor has "
                + CPUFeatures.simdSummary)
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
