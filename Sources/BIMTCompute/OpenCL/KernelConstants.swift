/// The compile-time constants the kernels and the host share, each held once. Every program is
/// built with `-D NAME=value` for each of them (`OpenCLProgramCache.buildOptions(for:)`), the
/// `.cl` files do not define them (an `#error` says where they come from), and the host sizes
/// its launches from the same values. The GEMM tunables are not here: `GemmTuning` passes them.
enum KernelConstants {
    struct Constant {
        let name: String
        let value: Int
    }

    /// Work-items per row of the row kernels: common.cl's `group_softmax_row`, softmax.cl and
    /// attention.cl (a power of two).
    static let rowLocal = Constant(name: "ROW_LOCAL", value: 64)
    /// Work-items per row (or group) of connection_cost.cl's kernels (a power of two).
    static let costLocal = Constant(name: "COST_LOCAL", value: 64)
    /// Work-items of reduce.cl's one work-group (a power of two).
    static let reduceLocal = Constant(name: "REDUCE_LOCAL", value: 64)
    /// Work-group size of adamw.cl's `squared_norm_partial` (a power of two).
    static let normLocal = Constant(name: "NORM_LOCAL", value: 64)
    /// Work-group size of loss.cl's `mse_loss` (a power of two).
    static let lossLocal = Constant(name: "LOSS_LOCAL", value: 64)
    /// Slots per work-item (its vector width) of swap_score.cl's `swap_scores_vector`.
    static let swapSlotsPerItem = Constant(name: "SWAP_VW", value: 16)
    /// Units per work-item of `swap_scores_vector`.
    static let swapUnitsPerItem = Constant(name: "SWAP_RU", value: 8)

    static let all = [rowLocal, costLocal, reduceLocal, normLocal, lossLocal, swapSlotsPerItem, swapUnitsPerItem]

    /// The build options that define them all.
    static var defines: String { all.map { "-D \($0.name)=\($0.value)" }.joined(separator: " ") }
}
