import BIMTCompute

/// When the run relocates (after every `swapEvery`-th step but the last), and the bookkeeping
/// of a relocation: the AdamW moments move with the weights, and the data on the device with
/// the input and output neurons that changed places.
struct RelocationSchedule {
    /// The relocation settings and period, and the run's length.
    let options: TrainingOptions

    /// Whether the `step`-th step (counted from 1) is followed by a relocation.
    func relocates(after step: Int) -> Bool {
        options.relocation.method != .off && step % options.swapEvery == 0 && step < options.steps
    }

    /// Relocates `model`'s neurons (`decide`: who decides, nil here) and moves `data` with them,
    /// so the network keeps seeing the same examples.
    func relocate(
        _ model: any TrainableModel, data: DeviceData,
        decide: SpatialGeometry.RelocationDecider?
    ) throws {
        let before = model.network.permutations
        _ = try model.geometry.relocate(
            parameters: model.parameters.whole,
            optimizerState: [model.firstMoments.whole, model.secondMoments.whole],
            settings: options.relocation, decide: decide)
        try data.move(from: before, to: model.network.permutations)
    }
}
