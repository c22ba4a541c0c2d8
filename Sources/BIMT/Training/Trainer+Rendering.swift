/// Reports and pictures of a trainer's model, named by its task (`Analysis` and
/// `NetworkRenderer` work on any model, or on a checkpoint's on the host).
extension Analysis {
    /// Prunes the trainer's model in place (on its device) and reports modules, connection
    /// cost, the fraction of weights kept and the test loss before and after.
    public static func analyze(
        _ trainer: Trainer, threshold: Float = defaultThreshold, modularityNulls: Int? = nil,
        nullModel: NullModel = .shuffled
    ) throws -> AnalysisReport {
        try onSplit(of: trainer) {
            try analyze(
                model: trainer.model, names: trainer.neuronNames, threshold: threshold,
                modularityNulls: modularityNulls, nullModel: nullModel, evaluate: $0)
        }
    }

    /// The trainer's model pruned as far as its evaluation loss may rise by `lossBudget`.
    public static func analyze(
        _ trainer: Trainer, lossBudget: Double, modularityNulls: Int? = nil, nullModel: NullModel = .shuffled
    ) throws -> AnalysisReport {
        try onSplit(of: trainer) {
            try analyze(
                model: trainer.model, names: trainer.neuronNames, lossBudget: lossBudget,
                modularityNulls: modularityNulls, nullModel: nullModel, evaluate: $0)
        }
    }

    /// The trainer's model pruned as far as its evaluation loss stays within `lossCeiling`.
    public static func analyze(
        _ trainer: Trainer, lossCeiling: Double, modularityNulls: Int? = nil, nullModel: NullModel = .shuffled
    ) throws -> AnalysisReport {
        try onSplit(of: trainer) {
            try analyze(
                model: trainer.model, names: trainer.neuronNames, lossCeiling: lossCeiling,
                modularityNulls: modularityNulls, nullModel: nullModel, evaluate: $0)
        }
    }

    /// `analysis` given the trainer's evaluation, its report labelled with the split the
    /// trainer evaluates on.
    private static func onSplit(
        of trainer: Trainer, _ analysis: (() throws -> Evaluation) throws -> AnalysisReport
    ) throws -> AnalysisReport {
        var report = try analysis(trainer.evaluateWithLast)
        report.evaluatedOn = trainer.options.evaluationSplitName
        return report
    }
}

extension NetworkRenderer {
    /// The trainer's model, named by its task.
    public static func svg(_ trainer: Trainer, threshold: Float = 0.01, maximumLines: Int = 20000) throws -> String {
        try svg(model: trainer.model, names: trainer.neuronNames, threshold: threshold, maximumLines: maximumLines)
    }
}
