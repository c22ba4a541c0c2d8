import BIMTCompute
import Testing

@Suite("CPU features")
struct CPUFeaturesTests {
    @Test("OpenBLAS's core type is corrected only from an older choice, to the newest whose instructions are all there")
    func suggestedCore() {
        let haswell: Set<String> = ["sse4_2", "avx2", "fma"]
        let skylake = haswell.union(["avx512f", "avx512vl", "avx512bw", "avx512dq"])
        #expect(CPUFeatures.suggestedBLASCore(chosen: "Prescott", flags: skylake) == "SkylakeX")
        // AVX-512 Foundation alone (Knights Landing) runs Haswell's kernels, not SkylakeX's.
        #expect(CPUFeatures.suggestedBLASCore(chosen: "Prescott", flags: haswell.union(["avx512f"])) == "Haswell")
        #expect(
            CPUFeatures.suggestedBLASCore(
                chosen: "Sandybridge",
                flags: skylake.subtracting(["avx512dq"])) == "Haswell")
        // AVX2 without FMA, or a choice that already fits: nothing to change.
        #expect(CPUFeatures.suggestedBLASCore(chosen: "Prescott", flags: ["avx2"]) == nil)
        #expect(CPUFeatures.suggestedBLASCore(chosen: "Cooperlake", flags: skylake) == nil)
        #expect(CPUFeatures.suggestedBLASCore(chosen: "Haswell", flags: skylake) == nil)
    }
}
