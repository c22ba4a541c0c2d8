import BIMTCompute

/// Examples on the host: inputs [count, inputWidth] (features, or float-encoded tokens)
/// and targets. Made once per run, validated here so no kernel ever sees a bad label.
/// A language model's split can instead be the windows of a token sequence (`windows`):
/// example i is tokens i ..< i + context, its targets the next tokens i + 1 ... i + context;
/// the trainer draws them at random offsets per batch and never uploads the sequence.
public struct Dataset: Sendable, Equatable {
    /// What a split predicts.
    public enum Targets: Sendable, Equatable {
        /// [count, width] real targets (MSE).
        case regression(values: [Float], width: Int)
        /// class indices in 0 ..< classes.
        case classification(labels: [Int], classes: Int)
    }

    /// Row-major [count, inputWidth] (tokens as float indices); empty for a windowed split.
    public let inputs: [Float]
    /// Values per example.
    public let inputWidth: Int
    /// Regression values or class labels (a windowed split: its classes, no stored labels).
    public let targets: Targets
    /// The token sequence a windowed split reads its examples from (nil: stored examples).
    public let windows: TokenSequence?
    /// Targets per example: 1, or one per position of a sequence (a language model).
    public let targetsPerExample: Int
    /// Examples in the split.
    public var count: Int { windows.map { $0.count - inputWidth } ?? inputs.count / max(1, inputWidth) }

    /// `vocabulary` marks token inputs: every input must be an integer in 0 ..< vocabulary.
    /// Targets hold `targetsPerExample` labels (or regression rows) per example.
    public init(
        inputs: [Float], inputWidth: Int, targets: Targets, vocabulary: Int? = nil, targetsPerExample: Int = 1,
        name: String = "data"
    ) throws {
        guard inputWidth >= 1, !inputs.isEmpty, inputs.count % inputWidth == 0 else {
            throw BIMTError.shapeMismatch("\(name): \(inputs.count) input values are not rows of \(inputWidth)")
        }
        guard targetsPerExample >= 1 else { throw BIMTError.invalidSetting("\(name): targetsPerExample must be >= 1") }
        let rows = inputs.count / inputWidth * targetsPerExample
        guard inputs.allSatisfy({ $0.isFinite }) else {
            throw BIMTError.invalidSetting("\(name): inputs contain NaN or Inf")
        }
        if let vocabulary {
            guard inputs.allSatisfy({ $0 >= 0 && $0 < Float(vocabulary) && $0.rounded() == $0 }) else {
                throw BIMTError.invalidSetting("\(name): tokens must be integers in 0..<\(vocabulary)")
            }
        }
        switch targets {
        case let .regression(values, width):
            guard width >= 1, values.count == rows * width else {
                throw BIMTError.shapeMismatch(
                    "\(name): \(values.count) target values for \(rows) target rows of width \(width)")
            }
            guard values.allSatisfy({ $0.isFinite }) else {
                throw BIMTError.invalidSetting("\(name): targets contain NaN or Inf")
            }
        case let .classification(labels, classes):
            guard labels.count == rows else {
                throw BIMTError.shapeMismatch("\(name): \(labels.count) labels for \(rows) target rows")
            }
            guard classes >= 1, labels.allSatisfy({ $0 >= 0 && $0 < classes }) else {
                throw BIMTError.invalidSetting("\(name): labels must lie in 0..<\(classes)")
            }
        }
        self.inputs = inputs
        self.inputWidth = inputWidth
        self.targets = targets
        self.targetsPerExample = targetsPerExample
        windows = nil
    }

    /// The windows of `context` tokens of `tokens` (ids in 0 ..< `vocabulary`, checked by
    /// whoever made the sequence), each predicting its next tokens.
    public init(windowsOf tokens: TokenSequence, context: Int, vocabulary: Int, name: String = "data") throws {
        guard context >= 1, tokens.count >= context + 1 else {
            throw BIMTError.invalidFile(
                path: tokens.source,
                reason: "holds \(tokens.count) tokens; a window of context \(context) needs at least \(context + 1)")
        }
        inputs = []
        inputWidth = context
        targets = .classification(labels: [], classes: vocabulary)
        targetsPerExample = context
        windows = tokens
    }

    /// Windows at `offsets` of a windowed split, as inputs [n, context] and next-token labels [n * context].
    public func windowBatch(at offsets: [Int]) -> (inputs: [Float], labels: [Float]) {
        guard let windows else { preconditionFailure("windowBatch of a split that is not windowed") }
        var inputs = [Float](), labels = [Float]()
        inputs.reserveCapacity(offsets.count * inputWidth)
        labels.reserveCapacity(offsets.count * inputWidth)
        for offset in offsets {
            let span = windows.floats(from: offset, count: inputWidth + 1)
            inputs += span.dropLast()
            labels += span.dropFirst()
        }
        return (inputs, labels)
    }

    /// A windowed split's windows at `offsets` as a split of stored examples (a fixed evaluation set).
    public func materialized(at offsets: [Int]) throws -> Dataset {
        guard case let .classification(_, classes) = targets else {
            preconditionFailure("a windowed split has classes")
        }
        let (inputs, labels) = windowBatch(at: offsets)
        return try Dataset(
            inputs: inputs, inputWidth: inputWidth,
            targets: .classification(labels: labels.map { Int($0) }, classes: classes),
            vocabulary: classes, targetsPerExample: inputWidth, name: "windows")
    }

    /// The first `count` examples of a split of stored examples.
    public func prefix(_ count: Int) throws -> Dataset {
        guard windows == nil, count < self.count else { return self }
        return try rows(0..<count)
    }

    /// Examples `range` of a split of stored examples (a windowed split is returned whole).
    public func rows(_ range: Range<Int>) throws -> Dataset {
        guard windows == nil, range != 0..<count else { return self }
        return try rows(at: Array(range), name: "rows \(range.lowerBound)..<\(range.upperBound)")
    }

    /// The output width a model needs: the regression width or the class count.
    public var outputWidth: Int {
        switch targets {
        case let .regression(_, width): width
        case let .classification(_, classes): classes
        }
    }

    /// Whether the targets are class labels.
    public var isClassification: Bool { if case .classification = targets { true } else { false } }
}

extension Dataset {
    /// The examples at `indices` of a split of stored examples, in that order.
    func rows(at indices: [Int], name: String) throws -> Dataset {
        precondition(windows == nil, "rows(at:) of a windowed split")
        let per = targetsPerExample
        func gather<T>(_ values: [T], _ width: Int) -> [T] {
            var result: [T] = []
            result.reserveCapacity(indices.count * width)
            for i in indices { result += values[(i * width)..<((i + 1) * width)] }
            return result
        }
        let targets: Targets =
            switch self.targets {
            case let .regression(values, width): .regression(values: gather(values, per * width), width: width)
            case let .classification(labels, classes): .classification(labels: gather(labels, per), classes: classes)
            }
        return try Dataset(
            inputs: gather(inputs, inputWidth), inputWidth: inputWidth, targets: targets,
            targetsPerExample: per, name: name)
    }
}

extension TaskData {
    /// The task with `count` training examples (a seeded random choice) as its evaluation
    /// split in place of the test split, and the rest as its training split.
    public func holdingOut(_ count: Int, seed: UInt64) throws -> TaskData {
        guard train.windows == nil else {
            throw BIMTError.invalidField(
                field: "validationExamples",
                reason: "task '\(name)' trains on a token "
                    + "stream, whose evaluation split is its own (val.bin, or a text's last "
                    + "tenth); drop validationExamples")
        }
        guard count >= 1, count < train.count else {
            throw BIMTError.invalidField(
                field: "validationExamples",
                reason: "must lie in 1..<\(train.count) (the "
                    + "training examples), got \(count)")
        }
        var generator = SeededGenerator(seed: seed &+ 0x7A11_DA7E)
        let order = Array(0..<train.count).shuffled(using: &generator)
        let held = order.prefix(count).sorted(), kept = order.dropFirst(count).sorted()
        var result = self
        result.name = "\(name) (\(count) held out)"
        result.train = try train.rows(at: kept, name: "\(name) train")
        result.test = try train.rows(at: held, name: "\(name) validation")
        return result
    }
}

/// A task's train and test split (and, for token inputs, the vocabulary size).
public struct TaskData: Sendable, Equatable {
    /// Shown in messages and reports.
    public var name: String
    /// The training split.
    public var train: Dataset
    /// The test split.
    public var test: Dataset
    /// Token inputs come from 0 ..< vocabulary (nil: real features).
    public var vocabulary: Int?
    /// Names of the inputs and outputs in logical order, for pictures and module reports.
    public var inputNames: [String]
    /// Names of the outputs (classes or targets) in logical order.
    public var outputNames: [String]

    /// A task from two splits of the same shape; names default to x1... and y1....
    public init(
        name: String, train: Dataset, test: Dataset, vocabulary: Int? = nil,
        inputNames: [String]? = nil, outputNames: [String]? = nil
    ) throws {
        guard train.inputWidth == test.inputWidth, train.outputWidth == test.outputWidth,
            train.isClassification == test.isClassification
        else {
            throw BIMTError.shapeMismatch("\(name): train and test splits differ in shape")
        }
        self.name = name
        self.train = train
        self.test = test
        self.vocabulary = vocabulary
        self.inputNames = inputNames ?? (1...train.inputWidth).map { "x\($0)" }
        self.outputNames = outputNames ?? (1...train.outputWidth).map { "y\($0)" }
    }
}
