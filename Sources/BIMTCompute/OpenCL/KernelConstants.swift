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
    /// Query (or key) rows per tile of attention.cl's single-launch kernels.
    var attentionBlock: Constant { Constant(name: "ATT_BLOCK", value: 32) }
    /// The largest head dimension the single-launch attention kernels hold in their tiles:
    /// four tiles of ATT_BLOCK x (ATT_HEAD_MAX + 1) floats and two of scores fit the 48 KiB of
    /// local memory every GPU offers (`attentionLocalBytes`).
    var attentionHeadMax: Constant { Constant(name: "ATT_HEAD_MAX", value: 64) }
    /// Work-items of a single-launch attention work-group: the row kernels' size, at least
    /// ATT_HEAD_MAX (each work-item owns one column of a block's outputs; ATT_BLOCK divides it,
    /// so one work-item per row can update the rows' softmax statistics) and at most
    /// ATT_BLOCK^2 (each owns whole scores of a tile).
    var attentionLocal: Constant {
        let (block, head) = (attentionBlock.value, attentionHeadMax.value)
        return Constant(name: "ATT_LOCAL", value: min(max(groups.row, head, block), block * block))
    }
    /// Local memory of the largest single-launch attention kernel (attention_backward_key).
    var attentionLocalBytes: Int {
        let (block, head) = (attentionBlock.value, attentionHeadMax.value)
        return 4 * (4 * block * (head + 1) + 2 * block * (block + 1) + 2 * block)
    }

    var all: [Constant] {
        [
            rowLocal, costLocal, reduceLocal, normLocal, lossLocal, swapSlotsPerItem, swapUnitsPerItem,
            attentionBlock, attentionHeadMax, attentionLocal,
        ]
    }

    /// The build options that define them all.
    var defines: String { all.map { "-D \($0.name)=\($0.value)" }.joined(separator: " ") }
}

/// Work-group sizes for one device, from its class and its limits. GPU-class devices (GPUs,
/// accelerators) get groups of several warps or wavefronts, so that an SM or CU can keep
/// enough of them resident; CPU-type devices (PoCL) keep the small groups measured fastest
/// there (one work-group runs on one core). Every size is capped by the device's largest
/// work-group, rounded down to a power of two. `bimt tune` times other sizes on the device
/// (`WorkGroupTuner`) and stores the fastest verified ones beside its GEMM settings.
/// `BIMT_OPENCL_GROUPS=gpu` (or `cpu`) picks a class's sizes regardless of the device and of
/// what is stored: the tests run the training suites on PoCL with GPU-class groups, so the
/// GPU's launch shapes are exercised before a GPU sees them.
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

    /// The sizes by name, as `bimt tune` stores them: group, pointwise, row, reduction.
    var values: [String: Int] { ["group": group, "pointwise": pointwise, "row": row, "reduction": reduction] }

    /// Sizes from `values` (every name of `values`, none other), or nil.
    init?(values: [String: Int]) {
        guard Set(values.keys) == Set(WorkGroups.names), let group = values["group"],
            let pointwise = values["pointwise"], let row = values["row"], let reduction = values["reduction"]
        else { return nil }
        self.init(group: group, pointwise: pointwise, row: row, reduction: reduction)
    }

    init(group: Int, pointwise: Int, row: Int, reduction: Int) {
        self.group = group
        self.pointwise = pointwise
        self.row = row
        self.reduction = reduction
    }

    static let names = ["group", "pointwise", "row", "reduction"]

    /// Why these sizes cannot run on a device whose work-groups hold at most
    /// `maxWorkGroupSize` work-items (nil: they can). Each must be a power of two (the
    /// reductions halve their groups) no larger than the device allows.
    func problem(maxWorkGroupSize: Int) -> String? {
        for (name, size) in values.sorted(by: { $0.key < $1.key }) {
            if size < 1 || size & (size - 1) != 0 { return "work-group size \(name) \(size) is not a power of two" }
            if size > maxWorkGroupSize {
                return "work-group size \(name) \(size) exceeds the device's \(maxWorkGroupSize)"
            }
        }
        return nil
    }

    /// The sizes for a device of `type` ("GPU", "CPU", "accelerator", ...) whose work-groups
    /// hold at most `maxWorkGroupSize` work-items: `BIMT_OPENCL_GROUPS`'s class if set, else
    /// `stored` (what `bimt tune` found for the device, already checked to run there), else
    /// the device's class.
    static func forDevice(
        type: String, maxWorkGroupSize: Int, environment: [String: String], stored: WorkGroups? = nil
    ) throws -> WorkGroups {
        var chosen = type == "GPU" || type == "accelerator" ? gpuClass : cpuClass
        switch environment["BIMT_OPENCL_GROUPS"] {
        case nil, "": if let stored { return stored }
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
