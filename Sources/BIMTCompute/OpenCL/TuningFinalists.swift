/// How both tuners (`GemmTuner`, `WorkGroupTuner`) settle on a winner: one timing per
/// candidate is noisy, so the three best candidates and the device's own settings are timed
/// twice more, alternating, and the best median of the three timings wins. A candidate that
/// fails now drops out.
enum TuningFinalists {
    /// `scored`: every verified candidate with its first score (GFLOP/s or seconds, better
    /// when higher as `higherIsBetter` says); `measure` scores settings again (nil: failed).
    /// The winner with its median and the defaults' median (nil when they were not verified or
    /// failed now); nil when no finalist is left.
    static func confirm(
        _ scored: [(values: [String: Int], score: Double)], defaults: [String: Int], higherIsBetter: Bool,
        measure: ([String: Int]) -> Double?
    ) -> (values: [String: Int], score: Double, defaultScore: Double?)? {
        let better = { (a: Double, b: Double) in higherIsBetter ? a > b : a < b }
        let ranked = scored.sorted { better($0.score, $1.score) }
        var finalists = Array(ranked.prefix(3))
        if let own = ranked.first(where: { $0.values == defaults }),
            !finalists.contains(where: { $0.values == defaults })
        {
            finalists.append(own)
        }
        var timings = finalists.map { [$0.score] }
        for _ in 0..<2 {
            for (i, finalist) in finalists.enumerated() where !timings[i].isEmpty {
                guard let score = measure(finalist.values) else { timings[i] = []; continue }
                timings[i].append(score)
            }
        }
        let medians = timings.map { $0.isEmpty ? nil : median($0) }
        let candidates = medians.indices.filter { medians[$0] != nil }
        guard let winner = candidates.min(by: { better(medians[$0]!, medians[$1]!) }) else { return nil }
        let defaultMedian = finalists.firstIndex { $0.values == defaults }.flatMap { medians[$0] }
        return (finalists[winner].values, medians[winner]!, defaultMedian)
    }
}
