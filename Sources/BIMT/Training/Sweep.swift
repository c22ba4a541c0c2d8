import BIMTCompute
import Foundation

/// How a sweep's run is regularized.
public enum SweepMethod: String, Sendable, CaseIterable, Codable {
    /// The configuration's own connection cost and swaps, at the run's lambda.
    case bimt
    /// Plain L1: the cost's weight factor 0 (every weight pays l0 |w|), no swaps, at the run's lambda.
    case l1
    /// No penalty: lambda 0, no swaps (one run per seed; the lambdas do not apply).
    case none

    /// `base` regularized this way at `lambda`.
    func apply(to base: TrainingConfiguration, lambda: Float) -> TrainingConfiguration {
        var c = base
        switch self {
        case .bimt:
            c.lambda = lambda
        case .l1:
            c.lambda = lambda
            c.cost.weightFactor = 0
            c.cost.lastWeightFactor = nil
            c.relocation.method = .off
        case .none:
            c.lambda = 0
            c.relocation.method = .off
        }
        return c
    }
}

/// `bimt sweep`: a grid of ordinary training runs (lambdas x methods x seeds) in one study
/// directory, then every run analyzed at a loss budget with its modularity against nulls,
/// written as study.csv, study.md and study.svg. A sweep stopped at any moment resumes:
/// finished runs are skipped, an interrupted one resumes from its last checkpoint.
public struct Sweep: Sendable {
    /// One run of the grid.
    public struct Run: Sendable, Equatable {
        public var name: String
        public var method: SweepMethod
        /// nil for `none`.
        public var lambda: Float?
        public var seed: UInt64
        public var configuration: TrainingConfiguration
    }

    /// The study's directory (one run directory per run inside).
    public let directory: URL
    /// The configuration every run starts from (its lambda and seed are the grid's).
    public let base: TrainingConfiguration
    public let runs: [Run]

    /// The grid, checked before anything is trained: at least one method and seed, lambdas >= 0
    /// (at least one unless every method is `none`).
    public init(
        base: TrainingConfiguration, lambdas: [Float], methods: [SweepMethod], seeds: [UInt64], directory: URL
    ) throws {
        guard !methods.isEmpty, !seeds.isEmpty else {
            throw BIMTError.invalidField(field: "sweep", reason: "the grid is empty: give at least one method and seed")
        }
        guard methods.allSatisfy({ $0 == .none }) || !lambdas.isEmpty else {
            throw BIMTError.invalidField(
                field: "sweep", reason: "methods bimt and l1 need at least one lambda (--lambdas 0.01,0.1)")
        }
        for lambda in lambdas where !(lambda.isFinite && lambda >= 0) {
            throw BIMTError.invalidField(field: "sweep", reason: "lambdas must be finite and >= 0, got \(lambda)")
        }
        guard Set(seeds).count == seeds.count, Set(lambdas).count == lambdas.count,
            Set(methods).count == methods.count
        else {
            throw BIMTError.invalidField(field: "sweep", reason: "a lambda, method or seed is given twice")
        }
        try base.validate()
        self.base = base
        self.directory = directory
        var runs: [Run] = []
        for method in methods {
            for lambda in method == .none ? [nil] : lambdas.map(Optional.some) {
                for seed in seeds {
                    var c = method.apply(to: base, lambda: lambda ?? 0)
                    c.seed = seed
                    let name = "\(method.rawValue)" + (lambda.map { "-lambda-\($0)" } ?? "") + "-seed-\(seed)"
                    runs.append(Run(name: name, method: method, lambda: lambda, seed: seed, configuration: c))
                }
            }
        }
        self.runs = runs
    }

    /// The run directory of `run`.
    public func directory(of run: Run) -> URL { directory.appending(path: run.name) }

    static let studyFile = "study.json"

    /// Writes study.json on first use; later, refuses a directory whose study trained another
    /// configuration (a run of the same name would otherwise be resumed with other settings).
    public func prepare() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appending(path: Self.studyFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var neutral = base
        (neutral.lambda, neutral.seed) = (0, 0)
        let mine = try encoder.encode(neutral)
        if let existing = try? Data(contentsOf: url) {
            guard let theirs = try? JSONDecoder().decode(TrainingConfiguration.self, from: existing) else {
                throw BIMTError.invalidFile(path: url.path, reason: "is not a bimt study description")
            }
            guard theirs == neutral else {
                throw BIMTError.invalidSetting(
                    "\(directory.path) holds a study of another configuration (preset "
                        + "\(theirs.preset ?? theirs.task.kind), \(theirs.steps) steps); give the same preset and "
                        + "flags to resume it, or another --out")
            }
            return
        }
        try mine.write(to: url, options: .atomic)
    }

    /// Where a run stands: finished (its checkpoint is at its last step), diverged (it stopped
    /// on a non-finite loss, recorded in its directory's `diverged.txt`; not retried),
    /// interrupted (a checkpoint before its last step) or not started.
    public enum RunState: Equatable, Sendable {
        case finished, diverged(String), interrupted(step: Int), notStarted

        var isDiverged: Bool { if case .diverged = self { true } else { false } }
    }

    static let divergedFile = "diverged.txt"

    /// A checkpoint that exists but cannot be read is an error (the run is not cleared).
    public func state(of run: Run) throws -> RunState {
        let runDirectory = directory(of: run)
        if let text = try? String(contentsOf: runDirectory.appending(path: Self.divergedFile), encoding: .utf8) {
            return .diverged(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let url = runDirectory.appending(path: Trainer.checkpointName)
        guard FileManager.default.fileExists(atPath: url.path) else { return .notStarted }
        guard let step = try Checkpoint.read(from: url).step else {
            throw BIMTError.invalidFile(
                path: url.path, reason: "records no step: remove the run's directory to retrain it")
        }
        return step >= run.configuration.steps ? .finished : .interrupted(step: step)
    }

    /// Trains every run that is not finished, in order: an interrupted one from its checkpoint,
    /// one never checkpointed from the start (its directory cleared). `report` hears a line per
    /// run with the runs done and an estimate of the time left; `shouldStop` ends the current
    /// run at its next step (it checkpoints) and the sweep with it. With `share` (rank, ranks),
    /// this process trains only the runs whose index in `runs` is rank modulo ranks, each as an
    /// ordinary single-process run: the ranks of an MPI job share a study out between them.
    public func train(
        device: Device, share: (rank: Int, ranks: Int) = (0, 1), report: (String) -> Void,
        shouldStop: () -> Bool = { false }
    ) throws {
        precondition(share.ranks >= 1 && (0..<share.ranks).contains(share.rank))
        try prepare()
        var seconds: [Double] = []
        let mine = runs.indices.filter { $0 % share.ranks == share.rank }
        // Only this process's runs: another rank may be writing its own.
        var states: [Int: RunState] = [:]
        for index in mine { states[index] = try state(of: runs[index]) }
        var left = mine.filter { states[$0] != .finished && !states[$0]!.isDiverged }.count
        for index in mine {
            let run = runs[index]
            let runDirectory = directory(of: run)
            // The mean time of the runs trained so far, times the runs left to train.
            let eta =
                seconds.isEmpty
                ? ""
                : String(format: ", about %.0f s left", seconds.reduce(0, +) / Double(seconds.count) * Double(left))
            let trainer: Trainer
            switch states[index]! {
            case .finished:
                report("run \(index + 1) of \(runs.count): \(run.name) finished already")
                continue
            case let .diverged(why):
                report("run \(index + 1) of \(runs.count): \(run.name) diverged earlier (\(why)); not retried")
                continue
            case let .interrupted(step):
                report("run \(index + 1) of \(runs.count): \(run.name), resuming at step \(step)\(eta)")
                trainer = try Trainer.resume(directory: runDirectory, device: device)
            case .notStarted:
                report("run \(index + 1) of \(runs.count): \(run.name)\(eta)")
                try? FileManager.default.removeItem(at: runDirectory)
                trainer = try Trainer(configuration: run.configuration, device: device, runDirectory: runDirectory)
            }
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                _ = try trainer.run(shouldStop: shouldStop)
            } catch let error as BIMTError {
                guard case .diverged = error else { throw error }
                // A large lambda can make a run diverge: the study records it and goes on.
                try Data("\(error)\n".utf8).write(to: runDirectory.appending(path: Self.divergedFile), options: .atomic)
                report("run \(index + 1) of \(runs.count): \(run.name) diverged: \(error)")
            }
            if trainer.interrupted { return }
            left -= 1
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    /// One analyzed run: the study's row. `report` is nil, and `note` says why, for a run that
    /// diverged or whose loss was above the ceiling before any pruning.
    public struct Row: Sendable {
        public var run: Run
        public var report: AnalysisReport?
        public var note: String?
    }

    /// Analyzes every finished run, on its evaluation split, pruned as far as its loss stays
    /// within the ceiling: the loss of the no-penalty run of the same seed plus `lossBudget`
    /// (every method compared at the same loss), or the run's own loss plus it where the sweep
    /// has no `none` runs; with modularity against `nulls` nulls of `null`. Writes study.csv,
    /// study.md, study.svg, each finished run's viewer (RUN/view.html) and index.html, the
    /// study's page linking them.
    public func analyze(device: Device, lossBudget: Double, nulls: Int, null: NullModel = .shuffled) throws -> [Row] {
        func trainer(_ run: Run) throws -> Trainer {
            try Trainer.load(checkpoint: directory(of: run).appending(path: Trainer.checkpointName), device: device)
        }
        var reference: [UInt64: Double] = [:]
        for run in runs where run.method == .none {
            if try state(of: run) == .finished { reference[run.seed] = try trainer(run).evaluateWithLast().loss }
        }
        var rows: [Row] = []
        for run in runs {
            switch try state(of: run) {
            case .finished: break
            case let .diverged(why):
                rows.append(Row(run: run, report: nil, note: "diverged: \(why)"))
                continue
            default:
                throw BIMTError.invalidSetting("run \(run.name) has not finished: train the sweep first")
            }
            let trainer = try trainer(run)
            let ceiling = try (reference[run.seed] ?? trainer.evaluateWithLast().loss) + lossBudget
            do {
                let report = try Analysis.analyze(
                    trainer, lossCeiling: ceiling, modularityNulls: nulls, nullModel: null)
                rows.append(Row(run: run, report: report, note: nil))
            } catch let BIMTError.invalidSetting(why) where why.contains("no pruning can meet") {
                rows.append(Row(run: run, report: nil, note: String(format: "loss above %.4f before pruning", ceiling)))
            }
        }
        // Each finished run's viewer, for the study's page to link (a viewer that cannot be
        // written costs its link, with the reason on the page, not the study).
        var viewers: [String: String?] = [:]
        for row in rows where row.report != nil || row.note?.hasPrefix("loss above") == true {
            do {
                let (html, _) = try RunViewer.html(runDirectory: directory(of: row.run))
                try Data(html.utf8).write(to: directory(of: row.run).appending(path: "view.html"), options: .atomic)
                viewers[row.run.name] = .some(nil)
            } catch {
                viewers[row.run.name] = .some("no viewer: \(error)")
            }
        }
        try StudyFiles.write(rows, lossBudget: lossBudget, null: null, viewers: viewers, to: directory)
        return rows
    }
}

/// study.csv, study.md and study.svg of a sweep.
enum StudyFiles {
    /// The kinds of matrix `AnalysisReport.familiesKept` names, in the study's order.
    static let families = ["attention", "mlp", "embeddings", "head", "convolutions", "dense"]

    static let columns =
        [
            "run", "method", "lambda", "seed", "loss", "loss_pruned", "threshold", "weights_kept", "q", "null_q_mean",
            "null_q_std", "q_z", "mean_length", "null_length_mean", "length_z", "loss_ceiling", "note",
        ] + families.map { "kept_\($0)" } + ["alive"]

    /// What is still alive after pruning: a transformer's heads and MLP neurons, a conv net's
    /// channels per block in a module ("" for an MLP).
    static func alive(_ report: AnalysisReport) -> String {
        if let blocks = report.blocks {
            let heads = blocks.reduce(0) { $0 + $1.headsAlive },
                allHeads = blocks.reduce(0) { $0 + $1.headFractionKept.count }
            let neurons = blocks.reduce(0) { $0 + $1.mlpNeuronsAlive },
                allNeurons = blocks.reduce(0) { $0 + $1.mlpNeurons }
            return "heads \(heads)/\(allHeads); MLP neurons \(neurons)/\(allNeurons)"
        }
        if let channels = report.channels, let connected = report.channelsConnected {
            return "channels " + zip(connected, channels).map { "\($0)/\($1)" }.joined(separator: "; ")
        }
        return ""
    }

    /// The fraction kept per kind of matrix, in percent ("mlp 20.1 %, attention 35.0 %").
    static func familiesText(_ report: AnalysisReport) -> String {
        families.compactMap { name in
            report.familiesKept?[name].map { String(format: "%@ %.1f %%", name, 100 * $0) }
        }.joined(separator: ", ")
    }

    static func values(_ row: Sweep.Row) -> [String] {
        let r = row.report, m = r?.modularity
        func number(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        return [
            row.run.name, row.run.method.rawValue, row.run.lambda.map { "\($0)" } ?? "", "\(row.run.seed)",
            number(r?.lossBefore), number(r?.lossAfter), number(r.map { Double($0.threshold) }),
            number(r?.fractionKept), number(m?.q), number(m?.nullMean), number(m?.nullStd), number(m?.z),
            number(m?.meanLength), number(m?.nullLengthMean), number(m?.lengthZ), number(r?.lossCeiling),
            (row.note ?? "").replacingOccurrences(of: ",", with: ";"),
        ] + families.map { number(r?.familiesKept?[$0]) } + [r.map(alive) ?? ""]
    }

    /// How the nulls were made, in words.
    static func nullsText(_ null: NullModel) -> String {
        switch null {
        case .shuffled: "shuffled-weight nulls"
        case .degree: "degree-preserving nulls (kept weights rewired, every neuron keeping its number of connections)"
        }
    }

    static func write(
        _ rows: [Sweep.Row], lossBudget: Double, null: NullModel, viewers: [String: String?], to directory: URL
    ) throws {
        let csv = ([columns] + rows.map(values)).map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: directory.appending(path: "study.csv"), options: .atomic)
        var md = "Each run pruned as far as its loss stays within the no-penalty run's (same seed) plus \(lossBudget) "
        md += "(its own loss plus that in a sweep without `none` runs); Q and mean connection length against "
        md += "\(nullsText(null)) (z-scores).\n\n"
        md += "| run | loss | pruned | weights kept | Q (nulls) | z | length z | kept per kind | alive |\n"
        md += "|---|---:|---:|---:|---:|---:|---:|---|---|\n"
        for row in rows {
            guard let r = row.report else {
                md += "| \(row.run.name) | \(row.note ?? "") | | | | | | | |\n"
                continue
            }
            let m = r.modularity
            md +=
                "| \(row.run.name) | "
                + String(format: "%.4f | %.4f | %.1f %% | ", r.lossBefore, r.lossAfter, 100 * r.fractionKept)
            md += m.map { String(format: "%.3f (%.3f) | ", $0.q, $0.nullMean) } ?? "| "
            md += (m?.z).map { String(format: "%.1f", $0) } ?? ""
            md += " | " + ((m?.lengthZ).map { String(format: "%.1f", $0) } ?? "")
            md += " | \(familiesText(r)) | \(alive(r)) |\n"
        }
        try Data(md.utf8).write(to: directory.appending(path: "study.md"), options: .atomic)
        try Data(svg(rows).utf8).write(to: directory.appending(path: "study.svg"), options: .atomic)
        try Data(html(rows, lossBudget: lossBudget, null: null, viewers: viewers).utf8).write(
            to: directory.appending(path: "index.html"), options: .atomic)
    }

    /// The study's page: the picture, and the table with each run's name linking its viewer
    /// (RUN/view.html) where `viewers` has it without a failure (with one, the reason beside the name).
    static func html(_ rows: [Sweep.Row], lossBudget: Double, null: NullModel, viewers: [String: String?]) -> String {
        func escaped(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var page = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>bimt study</title>\n"
        page += "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse}"
        page += "td,th{padding:3px 9px;border-bottom:1px solid #ddd;text-align:right}"
        page += "td:first-child,th:first-child{text-align:left}</style></head><body>\n<h1>bimt study</h1>\n"
        page += "<p>Each run pruned as far as its loss stays within the no-penalty run's (same seed) plus "
        page += "\(lossBudget); Q and the mean connection length against \(nullsText(null)) (z-scores). "
        page += "A run's name opens its viewer: its curves and its network at every snapshot.</p>\n"
        page += "<p><img src=\"study.svg\" alt=\"weights kept, and Q, against the loss\"></p>\n"
        page += "<table><tr><th>run</th><th>loss</th><th>pruned</th><th>weights kept</th><th>Q</th>"
        page += "<th>nulls' Q</th><th>z</th><th>length z</th><th>kept per kind</th><th>alive</th></tr>\n"
        for row in rows {
            let name = escaped(row.run.name)
            let link =
                switch viewers[row.run.name] {
                case .some(nil): "<a href=\"\(name)/view.html\">\(name)</a>"
                case let .some(.some(failure)): "\(name) (\(escaped(failure)))"
                case nil: name
                }
            guard let r = row.report else {
                page += "<tr><td>\(link)</td><td colspan=\"9\">\(escaped(row.note ?? ""))</td></tr>\n"
                continue
            }
            let m = r.modularity
            let cells = [
                String(format: "%.4f", r.lossBefore), String(format: "%.4f", r.lossAfter),
                String(format: "%.1f %%", 100 * r.fractionKept), m.map { String(format: "%.3f", $0.q) } ?? "",
                m.map { String(format: "%.3f", $0.nullMean) } ?? "", (m?.z).map { String(format: "%.1f", $0) } ?? "",
                (m?.lengthZ).map { String(format: "%.1f", $0) } ?? "", escaped(familiesText(r)), escaped(alive(r)),
            ]
            page += "<tr><td>\(link)</td>" + cells.map { "<td>\($0)</td>" }.joined() + "</tr>\n"
        }
        return page + "</table></body></html>\n"
    }

    /// Two scatter plots side by side, a colour per method and a point per run: weights kept
    /// against the loss, and Q against the loss.
    static func svg(_ rows: [Sweep.Row]) -> String {
        let colours: [SweepMethod: String] = [.bimt: "#1f77b4", .l1: "#d62728", .none: "#2ca02c"]
        let analyzed = rows.compactMap { row in row.report.map { (run: row.run, report: $0) } }
        let losses = analyzed.map(\.report.lossBefore)
        let (lo, hi) = (losses.min() ?? 0, losses.max() ?? 1)
        let span = hi > lo ? hi - lo : 1
        let (w, h, pad) = (360.0, 260.0, 40.0)
        func panel(_ x0: Double, _ title: String, _ value: (AnalysisReport) -> Double?, _ top: Double) -> String {
            var s = "<g transform=\"translate(\(x0),0)\">"
            s += "<rect x=\"\(pad)\" y=\"\(pad)\" width=\"\(w - 2 * pad)\" height=\"\(h - 2 * pad)\" "
            s += "fill=\"none\" stroke=\"#888\"/>"
            s += "<text x=\"\(w / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"13\">\(title)</text>"
            s += "<text x=\"\(w / 2)\" y=\"\(h - 8)\" text-anchor=\"middle\" font-size=\"11\">loss before pruning "
            s += String(format: "%.3f to %.3f", lo, hi) + "</text>"
            for row in analyzed {
                guard let v = value(row.report) else { continue }
                let x = pad + (row.report.lossBefore - lo) / span * (w - 2 * pad)
                let y = h - pad - min(1, max(0, v / top)) * (h - 2 * pad)
                s += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" ", x, y)
                s += "fill=\"\(colours[row.run.method]!)\"><title>\(row.run.name)</title></circle>"
            }
            return s + "</g>"
        }
        let qs = analyzed.compactMap { $0.report.modularity?.q }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(2 * w)\" height=\"\(h + 30)\">"
        svg += panel(0, "weights kept (0 to 1)", { $0.fractionKept }, 1)
        svg += panel(
            w, String(format: "modularity Q (0 to %.2f)", qs.max() ?? 1), { $0.modularity?.q }, max(qs.max() ?? 1, 1e-9)
        )
        var x = pad
        for method in SweepMethod.allCases where rows.contains(where: { $0.run.method == method }) {
            svg += "<circle cx=\"\(x)\" cy=\"\(h + 15)\" r=\"4\" fill=\"\(colours[method]!)\"/>"
            svg += "<text x=\"\(x + 8)\" y=\"\(h + 19)\" font-size=\"11\">\(method.rawValue)</text>"
            x += 60
        }
        return svg + "</svg>\n"
    }
}
