/// A (strided-batched) row-major matrix product:
///
/// ```
/// C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b]     for b in 0 ..< batchCount
/// op(X) = X or X^T;  op(A): M x K,  op(B): K x N,  C: M x N
/// ```
///
/// Leading dimensions default to the packed ones; batch strides default to the packed
/// matrix sizes. `beta == 0` never reads C.
public struct GemmOperation: Sendable, Equatable {
    /// Rows of op(A) and C.
    public var m: Int
    /// Columns of op(B) and C.
    public var n: Int
    /// Columns of op(A), rows of op(B).
    public var k: Int
    /// op(A) = A^T.
    public var transposeA: Bool
    /// op(B) = B^T.
    public var transposeB: Bool
    /// Scales op(A) op(B).
    public var alpha: Float
    /// Scales the C added (0: C is overwritten).
    public var beta: Float
    /// A's leading dimension.
    public var lda: Int
    /// B's leading dimension.
    public var ldb: Int
    /// C's leading dimension.
    public var ldc: Int
    /// Independent GEMMs in the batch.
    public var batchCount: Int
    /// Floats between batch entries of A.
    public var strideA: Int
    /// Floats between batch entries of B.
    public var strideB: Int
    /// Floats between batch entries of C.
    public var strideC: Int

    /// C = alpha op(A) op(B) + beta C; leading dimensions default to dense row-major, one batch entry.
    public init(
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        alpha: Float = 1, beta: Float = 0,
        lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil,
        batchCount: Int = 1, strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil
    ) {
        self.m = m
        self.n = n
        self.k = k
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.alpha = alpha
        self.beta = beta
        self.lda = lda ?? (transposeA ? m : k)
        self.ldb = ldb ?? (transposeB ? k : n)
        self.ldc = ldc ?? n
        self.batchCount = batchCount
        self.strideA = strideA ?? m * k
        self.strideB = strideB ?? k * n
        self.strideC = strideC ?? m * n
    }

    /// Rows and columns of A, B and C as stored (before `op`).
    var storedA: (rows: Int, columns: Int) { transposeA ? (k, m) : (m, k) }
    var storedB: (rows: Int, columns: Int) { transposeB ? (n, k) : (k, n) }

    /// Elements a slice must hold for a stored matrix of `rows` x `columns` with leading
    /// dimension `ld`, repeated `batchCount` times `stride` apart.
    func extent(rows: Int, columns: Int, ld: Int, stride: Int) -> Int {
        (batchCount - 1) * stride + (rows - 1) * ld + columns
    }

    /// A short legend, e.g. `128x64x32 NT batch 4`.
    public var summary: String {
        "\(m)x\(n)x\(k) \(transposeA ? "T" : "N")\(transposeB ? "T" : "N")"
            + (batchCount > 1 ? " batch \(batchCount)" : "")
    }

    /// Checks sizes, leading dimensions and that the slices hold every element touched.
    func validate(a: BufferSlice, b: BufferSlice, c: BufferSlice) throws {
        for (name, value) in [("M", m), ("N", n), ("K", k), ("batchCount", batchCount)] where value < 1 {
            throw ComputeError.invalidArgument("GEMM \(name) must be >= 1, got \(value)")
        }
        let (ar, ac) = storedA, (br, bc) = storedB
        for (name, ld, columns) in [("lda", lda, ac), ("ldb", ldb, bc), ("ldc", ldc, n)] where ld < columns {
            throw ComputeError.invalidArgument(
                "GEMM \(summary): \(name) = \(ld) is less than the \(columns) columns it spans")
        }
        for (name, stride) in [("strideA", strideA), ("strideB", strideB), ("strideC", strideC)]
        where stride < 0 || (batchCount > 1 && stride == 0 && name == "strideC") {
            throw ComputeError.invalidArgument("GEMM \(summary): \(name) = \(stride) is invalid")
        }
        let needs = [
            ("A", a, ar, ac, extent(rows: ar, columns: ac, ld: lda, stride: strideA)),
            ("B", b, br, bc, extent(rows: br, columns: bc, ld: ldb, stride: strideB)),
            ("C", c, m, n, extent(rows: m, columns: n, ld: ldc, stride: strideC)),
        ]
        for (name, slice, rows, columns, required) in needs where slice.count < required {
            throw ComputeError.shapeMismatch(
                "GEMM \(summary) needs \(name) as \(batchCount > 1 ? "\(batchCount) x " : "")\(rows) x \(columns) "
                    + "(\(required) elements), but the slice holds \(slice.count)")
        }
    }
}

/// An operand of a strided-batched product over a batch of sequences: its slice, the offset
/// of the first entry's first element in it, the leading dimension, and the stride between
/// entries (attention's per-head and per-block products read columns of packed rows).
typealias StridedOperand = (slice: BufferSlice, offset: Int, leading: Int, stride: Int)

extension GemmOperation {
    /// The operation and operand slices of C = alpha op(A) op(B) + beta C over `batch` entries.
    static func strided(
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, alpha: Float = 1,
        beta: Float = 0, batch: Int, a: StridedOperand, b: StridedOperand, c: StridedOperand
    )
        -> (operation: GemmOperation, a: BufferSlice, b: BufferSlice, c: BufferSlice)
    {
        func tail(_ x: StridedOperand) -> BufferSlice {
            x.slice.buffer.slice(offset: x.slice.offset + x.offset, count: x.slice.count - x.offset)
        }
        return (
            GemmOperation(
                m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta,
                lda: a.leading, ldb: b.leading, ldc: c.leading, batchCount: batch,
                strideA: a.stride, strideB: b.stride, strideC: c.stride), tail(a), tail(b), tail(c)
        )
    }
}
