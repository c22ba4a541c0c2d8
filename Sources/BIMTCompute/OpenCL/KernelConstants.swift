/// The compile-time constants the kernels and the host share, each held once per device. Every
/// program is built with `-D NAME=value` for each of them (`OpenCLProgramCache.buildOptions(for:)`),
/// the `.cl` files do not define them (an `#error` says where they come from), and the host sizes
/// its launches from the same values. The GEMM tunables are not here: `GemmTuning` passes them.
struct KernelConstants: Equatable {
    struct Constant: Equatable {
        let name: String
        let value: Int
    }

    /// The work-group sizes these constants and the host's launches use on one device.
    let groups: WorkGroups

    /// Work-items per row of the row kernels: common.cl's `group_softmax_row`, softmax.cl and
    /// attention.cl (a power of two).
    var rowLocal: Constant { Constant(name: "ROW_LOCAL", value: groups.row) }
    /// Work-items per row (or group) of connection_cost.cl's kernels (a power of two).
    var costLocal: Constant { Constant(name: "COST_LOCAL", value: groups.reduction) }
    /// Work-items of reduce.cl's one work-group (a power of two).
    var reduceLocal: Constant { Constant(name: "REDUCE_LOCAL", value: groups.reduction) }
    /// Work-group size of adamw.cl's `squared_norm_partial` (a power of two).
    var normLocal: Constant { Constant(name: "NORM_LOCAL", value: groups.reduction) }
    /// Work-group size of loss.cl's `mse_loss` (a power of two).
    var lossLocal: Constant { Constant(name: "LOSS_LOCAL", value: groups.reduction) }
    /// Slots per work-item (its vector width) of swap_score.cl's `swap_scores_vector`.
    var swapSlotsPerItem: Constant { Constant(name: "SWAP_VW", value: 16) }
    /// Units per work-item of `swap_scores_vector`.
    var swapUnitsPerItem: Constant { Constant(name: "SWAP_RU", value: 8) }

    var all: [Constant] {
        [rowLocal, costLocal, reduceLocal, normLocal, lossLocal, swapSlotsPerItem, swapUnitsPerItem]
    }

    /// The build options that define them all.
    var defines: String { all.map { "-D \($0.name)=\($0.value)" }.joined(separator: " ") }
}

/// Work-group sizes for one device, from its class and its limits. GPU-class devices (GPUs,
/// accelerators) get groups of several warps or wavefronts, so that an SM or CU can keep
/// enough of them resident; CPU-type devices (PoCL) keep the small groups measured fastest
/// there (one work-group runs on one core). Every size is capped by the device's largest
/// work-group, rounded down to a power of two. `BIMT_OPENCL_GROUPS=gpu` (or `cpu`) picks the
/// class regardless of the device: the tests run the training suites on PoCL with GPU-class
/// groups, so the GPU's launch shapes are exercised before a GPU sees them.
struct WorkGroups: Equatable {
    /// Work-items along x of the kernels that map columns (or channels) to x and rows to y,
    /// and of the per-row kernels (LayerNorm, per-row losses).
    var group: Int
    /// Work-items of the one-dimensional pointwise kernels.
    var pointwise: Int
    /// ROW_LOCAL: a row kernel's work-items per row.
    var row: Int
    /// COST_LOCAL, REDUCE_LOCAL, NORM_LOCAL, LOSS_LOCAL: a reduction's work-group.
    var reduction: Int

    static let gpuClass = WorkGroups(group: 128, pointwise: 256, row: 128, reduction: 256)
    static let cpuClass = WorkGroups(group: 16, pointwise: 64, row: 64, reduction: 64)

    /// The sizes for a device of `type` ("GPU", "CPU", "accelerator", ...) whose work-groups
    /// hold at most `maxWorkGroupSize` work-items.
    static func forDevice(type: String, maxWorkGroupSize: Int, environment: [String: String]) throws -> WorkGroups {
        var chosen = type == "GPU" || type == "accelerator" ? gpuClass : cpuClass
        switch environment["BIMT_OPENCL_GROUPS"] {
        case nil, "": break
        case "gpu": chosen = gpuClass
        case "cpu": chosen = cpuClass
        case let other?:
            throw ComputeError.invalidArgument(
                "BIMT_OPENCL_GROUPS must be gpu or cpu (the work-group sizes of that device class), got '\(other)'")
        }
        var largest = 1
        while largest * 2 <= max(1, maxWorkGroupSize) { largest *= 2 }
        return WorkGroups(
            group: min(chosen.group, largest), pointwise: min(chosen.pointwise, largest), row: min(chosen.row, largest),
            reduction: min(chosen.reduction, largest))
    }
}
