import BIMTCompute
import Foundation

/// Sequence tasks for the transformer: inputs are [examples, positions] tokens (float
/// encoded) or [examples, positions * features] reals.
extension Tasks {
    /// "a b =" -> (a + b) mod p over all p^2 pairs (tokens 0 ..< p, "=" is token p); the
    /// answer is predicted at the last position.
    public static func modularAdditionSequence(modulus p: Int, trainFraction: Double = 0.5, seed: UInt64) throws
        -> TaskData
    {
        try checkModulus(p)
        let names = (0..<p).map(String.init)
        return try tokenTask(
            name: "modadd-seq-\(p)", pairs: (0..<(p * p)).map { ($0 / p, $0 % p) }, vocabulary: p + 1, classes: p,
            trainFraction: trainFraction, seed: seed, suffix: [p], inputNames: names + ["="], outputNames: names
        ) {
            ($0 + $1) % p
        }
    }

    /// The paper's in-context linear regression, as its reference runs it: per sequence a
    /// random w ~ U[-1, 1]^d and x_t ~ U[1, 3]^d, y_t = w . x_t. A token has d + 1 features:
    /// an x token is [0, x_t], a y token [y_t, 0]. The input (x1, y1, ..., xT) has 2T - 1
    /// tokens, and every y_t is the target at its x token (T targets per sequence, y1
    /// included). `trainFraction` of the sequences, chosen at random, train.
    public static func inContextRegression(
        dimension d: Int, pairs: Int, count: Int = 10000, trainFraction: Double = 0.8,
        seed: UInt64
    ) throws -> TaskData {
        guard d >= 1, pairs >= 1, count >= 2 else {
            throw BIMTError.invalidSetting("in-context regression needs dimension, pairs >= 1 and >= 2 sequences")
        }
        var generator = SeededGenerator(seed: seed)
        let features = d + 1, positions = 2 * pairs - 1, width = positions * features
        var inputs = [Float](), targets = [Float]()
        inputs.reserveCapacity(count * width)
        for _ in 0..<count {
            let w = (0..<d).map { _ in Float.random(in: -1...1, using: &generator) }
            for t in 0..<pairs {
                let x = (0..<d).map { _ in Float.random(in: 1...3, using: &generator) }
                let y = zip(w, x).reduce(0) { $0 + $1.0 * $1.1 }
                inputs += [0] + x
                if t < pairs - 1 { inputs += [y] + [Float](repeating: 0, count: d) }
                targets.append(y)
            }
        }
        let order = Array(0..<count).shuffled(using: &generator)
        let cut = max(1, min(count - 1, Int(Double(count) * trainFraction)))
        func split(_ part: ArraySlice<Int>, _ name: String) throws -> Dataset {
            try Dataset(
                inputs: part.flatMap { inputs[($0 * width)..<(($0 + 1) * width)] }, inputWidth: width,
                targets: .regression(values: part.flatMap { targets[($0 * pairs)..<(($0 + 1) * pairs)] }, width: 1),
                targetsPerExample: pairs, name: name)
        }
        return try TaskData(
            name: "incontext-d\(d)-t\(pairs)", train: try split(order[..<cut], "train"),
            test: try split(order[cut...], "test"),
            inputNames: ["y"] + (1...d).map { "x\($0)" }, outputNames: ["y"])
    }

    /// Random tokens (next-token targets): a stand-in corpus for timing a language model.
    public static func randomTokens(
        vocabulary: Int, length: Int, trainCount: Int = 512, testCount: Int = 64, seed: UInt64
    ) throws -> TaskData {
        var generator = SeededGenerator(seed: seed)
        func split(_ count: Int, _ name: String) throws -> Dataset {
            let stream = (0..<(count * (length + 1))).map { _ in Int.random(in: 0..<vocabulary, using: &generator) }
            var inputs = [Float](), labels = [Int]()
            for s in 0..<count {
                let window = stream[(s * (length + 1))..<((s + 1) * (length + 1))]
                inputs += window.dropLast().map(Float.init)
                labels += window.dropFirst()
            }
            return try Dataset(
                inputs: inputs, inputWidth: length, targets: .classification(labels: labels, classes: vocabulary),
                vocabulary: vocabulary, targetsPerExample: length, name: name)
        }
        return try TaskData(
            name: "random-tokens", train: try split(trainCount, "train"), test: try split(testCount, "test"),
            vocabulary: vocabulary)
    }
}

/// A character-level corpus: any UTF-8 text file; the vocabulary is its distinct Unicode
/// scalars (sorted); the first 90 % is for training, the rest for testing.
public enum CharacterText {
    /// The file's text and sorted vocabulary, with clear errors for an unreadable, empty or non-UTF-8 file.
    public static func read(path: String) throws -> (scalars: [Unicode.Scalar], vocabulary: [Unicode.Scalar]) {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BIMTError.invalidFile(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        guard !data.isEmpty else {
            throw BIMTError.invalidFile(path: path, reason: "is empty; give a UTF-8 text of at least a few kB")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw BIMTError.invalidFile(
                path: path, reason: "is not valid UTF-8 text; convert it (e.g. iconv -t UTF-8) or pick another file")
        }
        let scalars = Array(text.unicodeScalars)
        return (scalars, Array(Set(scalars)).sorted { $0.value < $1.value })
    }

    /// The first 90 % of the characters for training and the rest for testing, each read as
    /// windows of `context` tokens (targets: the next tokens); training draws windows at random
    /// offsets per batch.
    public static func task(path: String, context: Int, trainFraction: Double = 0.9) throws -> TaskData {
        let (scalars, vocabulary) = try read(path: path)
        let index = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        let tokens = scalars.map { index[$0]! }
        let cut = Int(Double(tokens.count) * trainFraction)
        guard cut >= context + 1, tokens.count - cut >= context + 1 else {
            throw BIMTError.invalidFile(
                path: path,
                reason: "holds \(tokens.count) characters; a context of \(context) needs at least "
                    + "\(Int(Double(context + 1) / min(trainFraction, 1 - trainFraction)) + 1)")
        }
        let names = vocabulary.map { String($0) }
        return try TaskData(
            name: URL(fileURLWithPath: path).lastPathComponent,
            train: try Dataset(
                windowsOf: TokenSequence(Array(tokens[..<cut]), source: path), context: context,
                vocabulary: vocabulary.count, name: "train"),
            test: try Dataset(
                windowsOf: TokenSequence(Array(tokens[cut...]), source: path), context: context,
                vocabulary: vocabulary.count, name: "test"),
            vocabulary: vocabulary.count, inputNames: names, outputNames: names)
    }
}

/// nanoGPT's token files: a folder holding `train.bin` and `val.bin` (little-endian uint16
/// ids, as nanoGPT's `prepare.py` scripts write them) and optionally `meta.json` with
/// `vocab_size` and, for a character vocabulary, `itos` (the string of every id). The files
/// are memory-mapped and read as windows; nothing is loaded whole.
public enum TokenFiles {
    /// The vocabulary size and token names: `vocabulary` if given, else meta.json's.
    public static func meta(folder: String, vocabulary: Int?) throws -> (vocabulary: Int, names: [String]?) {
        let url = URL(fileURLWithPath: folder).appending(path: "meta.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            return try meta(json: nil, path: url.path, vocabulary: vocabulary)
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BIMTError.invalidFile(path: url.path, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try meta(json: data, path: url.path, vocabulary: vocabulary)
    }

    /// The same from meta.json's bytes (nil: no meta.json; `path` names it in errors).
    public static func meta(json: Data?, path: String, vocabulary: Int?) throws -> (vocabulary: Int, names: [String]?) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path, url = URL(fileURLWithPath: path)
        var names: [String]?
        var size = vocabulary
        if let json {
            guard let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
                throw BIMTError.invalidFile(path: url.path, reason: "is not a JSON object")
            }
            if size == nil { size = object["vocab_size"] as? Int }
            names = object["itos"] as? [String]
        }
        guard let size, size >= 1, size <= 65536 else {
            throw BIMTError.invalidField(
                field: "task.vocabulary",
                reason: size == nil
                    ? "give the vocabulary size of the token files in \(folder) "
                        + "(or a meta.json with vocab_size beside them)"
                    : "must lie in 1...65536 (uint16 ids), got \(size!)")
        }
        if let count = names?.count, count != size {
            throw BIMTError.invalidFile(path: url.path, reason: "itos names \(count) tokens, the vocabulary is \(size)")
        }
        if let names, let (first, second) = firstDuplicate(names) {
            throw BIMTError.invalidFile(
                path: url.path,
                reason: "itos names ids \(first) and \(second) both "
                    + "'\(names[first])'; every token needs its own name (text is decoded and "
                    + "prompts encoded through them)")
        }
        return (size, names)
    }

    /// The first two positions of `names` that hold the same string (nil: all differ).
    public static func firstDuplicate(_ names: [String]) -> (Int, Int)? {
        var seen: [String: Int] = [:]
        for (i, name) in names.enumerated() {
            if let first = seen[name] { return (first, i) }
            seen[name] = i
        }
        return nil
    }

    /// The task: windows of `context` tokens over train.bin (training) and val.bin (test).
    public static func task(folder: String, vocabulary: Int?, context: Int) throws -> TaskData {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw BIMTError.invalidFile(
                path: folder,
                reason: "is not a folder; token files are a folder holding "
                    + "train.bin and val.bin")
        }
        let (size, names) = try meta(folder: folder, vocabulary: vocabulary)
        func split(_ file: String, _ name: String) throws -> Dataset {
            let path = URL(fileURLWithPath: folder).appending(path: file).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw BIMTError.invalidFile(
                    path: path, reason: "does not exist; a token folder holds train.bin and val.bin")
            }
            return try Dataset(
                windowsOf: TokenSequence(uint16File: path, vocabulary: size), context: context, vocabulary: size,
                name: name)
        }
        let tokenNames = names ?? (0..<size).map { "t\($0)" }
        return try TaskData(
            name: URL(fileURLWithPath: folder).lastPathComponent, train: try split("train.bin", "train"),
            test: try split("val.bin", "val"), vocabulary: size, inputNames: tokenNames, outputNames: tokenNames)
    }
}
