/// Where a backward pass's gradients are final after each of its stages.
enum GradientWatermark {
    /// For each stage (the parameter ranges it completes, in the order the pass runs them):
    /// the lowest flat offset from which every gradient up to `total` is complete by then.
    /// Parameters no stage names (anything the pass finishes only at its end) hold it back.
    static func offsets(total: Int, stages: [[Range<Int>]]) -> [Int] {
        var done: [Range<Int>] = []
        return stages.map { stage in
            done += stage.filter { !$0.isEmpty }
            var mark = total
            // Walk down from the end while the completed ranges cover it.
            while let below = done.first(where: { $0.lowerBound < mark && $0.upperBound >= mark }) {
                mark = below.lowerBound
            }
            return mark
        }
    }
}
