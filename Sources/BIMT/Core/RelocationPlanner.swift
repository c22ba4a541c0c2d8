/// The host-side decisions of relocation, on a unit x slot score matrix C (row u: the unit
/// now at slot u; column p: a slot). Every plan is a unit permutation: new slot s <- old
/// unit units[s].
public enum RelocationPlanner {
    /// Refuses non-finite scores or importances (diverged weights): no plan is made from them,
    /// and the assignment solver would not terminate on them.
    public static func plan(
        scores: [Double], importance: [Double], units m: Int, blockSize: Int?,
        method: RelocationMethod, topK: Int
    ) throws -> [Int] {
        guard scores.allSatisfy(\.isFinite), importance.allSatisfy(\.isFinite) else {
            throw BIMTError.invalidSetting(
                "swap scores or importances are not finite (NaN or infinity): the weights have diverged")
        }
        guard let b = blockSize, b < m else {
            return try solve(scores, importance, m, method: method, topK: topK)
        }
        // Structured moves: whole blocks (heads) first, then units inside each block.
        let h = m / b
        var blockScores = [Double](repeating: 0, count: h * h), blockImportance = [Double](repeating: 0, count: h)
        for x in 0..<h {
            for d in 0..<b { blockImportance[x] += importance[x * b + d] }
            for y in 0..<h {
                var sum = 0.0
                for d in 0..<b { sum += scores[(x * b + d) * m + y * b + d] }
                blockScores[x * h + y] = sum
            }
        }
        let blocks = try solve(blockScores, blockImportance, h, method: method, topK: topK)
        var units = [Int](repeating: 0, count: m)
        for g in 0..<h {
            let source = blocks[g] // the old block that now sits at block position g
            var inner = [Double](repeating: 0, count: b * b)
            for d in 0..<b {
                for e in 0..<b { inner[d * b + e] = scores[(source * b + d) * m + g * b + e] }
            }
            let innerImportance = (0..<b).map { importance[source * b + $0] }
            let arrangement = try solve(inner, innerImportance, b, method: method, topK: min(topK, b))
            for e in 0..<b { units[g * b + e] = source * b + arrangement[e] }
        }
        return units
    }

    static func solve(
        _ c: [Double], _ importance: [Double], _ n: Int, method: RelocationMethod,
        topK: Int
    ) throws -> [Int] {
        switch method {
        case .off: return Array(0..<n)
        case .greedy: return greedy(c, importance, n, topK: topK)
        case .assignment:
            let slotOf = try LinearAssignment.solve(costs: c, size: n)
            var units = [Int](repeating: 0, count: n)
            for (u, slot) in slotOf.enumerated() { units[slot] = u }
            return units
        }
    }

    /// Unit indices by decreasing importance, equal importances by decreasing index (the
    /// reference's flip of a stable ascending argsort).
    public static func rankedByImportance(_ importance: [Double]) -> [Int] {
        importance.indices.sorted { importance[$0] != importance[$1] ? importance[$0] > importance[$1] : $0 > $1 }
    }

    /// The paper's greedy procedure, with each candidate scored from C instead of by
    /// recomputing the network: the top_k units by importance (ranked once, by physical
    /// position, as the reference's flip(argsort(importance)) ranks them: equal importances
    /// go to the higher index first) in turn take the swap with the lowest resulting cost,
    /// the first such in slot order, "no swap" (delta 0) included.
    public static func greedy(_ c: [Double], _ importance: [Double], _ n: Int, topK: Int) -> [Int] {
        var rows = c
        var holder = Array(0..<n)
        let order = rankedByImportance(importance)
        for j in order.prefix(topK) {
            var best = 0, bestDelta = Double.infinity
            for k in 0..<n {
                let delta = k == j ? 0 : rows[j * n + k] + rows[k * n + j] - rows[j * n + j] - rows[k * n + k]
                if delta < bestDelta { bestDelta = delta; best = k }
            }
            guard best != j else { continue }
            for p in 0..<n { rows.swapAt(j * n + p, best * n + p) }
            holder.swapAt(j, best)
        }
        return holder
    }
}
