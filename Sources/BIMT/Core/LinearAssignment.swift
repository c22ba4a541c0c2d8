/// Minimum-cost perfect matching of an n x n cost matrix: the Hungarian method in its
/// shortest-augmenting-path form (Jonker-Volgenant style potentials), O(n^3) worst case.
public enum LinearAssignment {
    /// slot[row] for the assignment minimizing sum_row costs[row * size + slot[row]]. Throws
    /// when `costs` is not `size` x `size` or holds NaN or infinity (no assignment minimizes
    /// such costs, and the search would never end).
    public static func solve(costs: [Double], size n: Int) throws -> [Int] {
        guard n >= 0, n.multipliedReportingOverflow(by: n) == (costs.count, false) else {
            throw BIMTError.shapeMismatch("linear assignment: \(costs.count) costs are not \(n) x \(n)")
        }
        if let bad = costs.firstIndex(where: { !$0.isFinite }) {
            throw BIMTError.invalidSetting(
                "linear assignment: cost (\(bad / n), \(bad % n)) is \(costs[bad]); "
                    + "every cost must be finite")
        }
        guard n > 0 else { return [] }
        // 1-based potentials u (rows), v (columns); p[j] = row matched to column j (0: none).
        // Raw buffers: the inner loop runs n^2 to n^3 times and must not pay array checks.
        let u = UnsafeMutableBufferPointer<Double>.allocate(capacity: n + 1)
        let v = UnsafeMutableBufferPointer<Double>.allocate(capacity: n + 1)
        let minv = UnsafeMutableBufferPointer<Double>.allocate(capacity: n + 1)
        let p = UnsafeMutableBufferPointer<Int>.allocate(capacity: n + 1)
        let way = UnsafeMutableBufferPointer<Int>.allocate(capacity: n + 1)
        let used = UnsafeMutableBufferPointer<Bool>.allocate(capacity: n + 1)
        defer { [u, v, minv].forEach { $0.deallocate() }; [p, way].forEach { $0.deallocate() }; used.deallocate() }
        u.initialize(repeating: 0); v.initialize(repeating: 0); minv.initialize(repeating: 0)
        p.initialize(repeating: 0); way.initialize(repeating: 0); used.initialize(repeating: false)
        costs.withUnsafeBufferPointer { a in
            for i in 1...n {
                p[0] = i
                var j0 = 0
                for j in 0...n { minv[j] = .infinity; used[j] = false }
                repeat {
                    used[j0] = true
                    let i0 = p[j0], row = (i0 - 1) * n - 1, ui0 = u[i0]
                    var delta = Double.infinity, j1 = 0
                    for j in 1...n where !used[j] {
                        let current = a[row + j] - ui0 - v[j]
                        if current < minv[j] { minv[j] = current; way[j] = j0 }
                        if minv[j] < delta { delta = minv[j]; j1 = j }
                    }
                    for j in 0...n {
                        if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
                    }
                    j0 = j1
                } while p[j0] != 0
                repeat {
                    let j1 = way[j0]
                    p[j0] = p[j1]
                    j0 = j1
                } while j0 != 0
            }
        }
        var slot = [Int](repeating: 0, count: n)
        for j in 1...n where p[j] > 0 { slot[p[j] - 1] = j }
        return slot.map { $0 - 1 }
    }
}
