import BIMTCompute
import Testing

/// Fails with the largest error and where it is when `actual` and `expected` differ by more
/// than `tolerance * max(1, max|expected|)` anywhere.
public func expectClose(
    _ actual: [Float], _ expected: [Double], tolerance: Double, _ label: String,
    columns: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        actual.count == expected.count, "\(label): \(actual.count) values, expected \(expected.count)",
        sourceLocation: sourceLocation)
    var worst = 0.0, worstIndex = 0, largest = 0.0
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let error = abs(Double(a) - e)
        if !(error <= worst) { worst = error; worstIndex = i } // NaN counts as the worst
        largest = max(largest, abs(e))
    }
    let bound = tolerance * max(1, largest)
    guard !(worst <= bound) else { return }
    let place = columns.map { "[row \(worstIndex / $0), column \(worstIndex % $0)]" } ?? "[\(worstIndex)]"
    let text =
        "\(label): largest error \(worst) at \(place): got \(actual[worstIndex]), "
        + "expected \(expected[worstIndex]) (bound \(bound))"
    Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation)
}

public func expectClose(
    _ actual: [Float], _ expected: [Float], tolerance: Double, _ label: String,
    columns: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation
) {
    expectClose(
        actual, expected.map(Double.init), tolerance: tolerance, label, columns: columns,
        sourceLocation: sourceLocation)
}

/// Plain double-precision GEMM over stored row-major operands with leading dimensions.
public func referenceGemm(_ op: GemmOperation, a: [Float], b: [Float], c: [Float]) -> [Double] {
    var result = c.map(Double.init)
    for batch in 0..<op.batchCount {
        for i in 0..<op.m {
            for j in 0..<op.n {
                var sum = 0.0
                for p in 0..<op.k {
                    let av =
                        op.transposeA ? a[batch * op.strideA + p * op.lda + i] : a[batch * op.strideA + i * op.lda + p]
                    let bv =
                        op.transposeB ? b[batch * op.strideB + j * op.ldb + p] : b[batch * op.strideB + p * op.ldb + j]
                    sum += Double(av) * Double(bv)
                }
                let index = batch * op.strideC + i * op.ldc + j
                let prior = op.beta == 0 ? 0 : Double(op.beta) * Double(c[index])
                result[index] = Double(op.alpha) * sum + prior
            }
        }
    }
    return result
}

/// Fails when a and b differ by more than `relative * max(|a|, |b|)`, or by more than
/// `absolute` where that is larger: a floor for values near zero, none unless given.
public func expectClose(
    _ a: Double, _ b: Double, relative: Double, absolute: Double = 0, _ label: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let bound = max(absolute, relative * max(abs(a), abs(b)))
    #expect(
        abs(a - b) <= bound, "\(label): \(a) vs \(b) (difference \(abs(a - b)), bound \(bound))",
        sourceLocation: sourceLocation)
}
