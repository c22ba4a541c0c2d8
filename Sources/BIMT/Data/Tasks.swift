import BIMTCompute
import Foundation

/// The paper's built-in tasks (docs/METHOD.md, "The paper's experiments"), generated from a seed.
public enum Tasks {
    /// The symbolic formulas of the paper.
    public enum Formula: String, Sendable, Codable, CaseIterable {
        /// y = ((x1 + x3)^3, x2^2 + sin(pi x4))
        case independence
        /// y = (x1^2, x1^2 + x2^2, x1^2 + x2^2 + x3^2)
        case featureSharing = "feature-sharing"
        /// y = sqrt((x1 - x2)^2 + (x3 - x4)^2)
        case compositionality

        /// Input variables.
        public var inputs: Int { self == .featureSharing ? 3 : 4 }
        /// Output values.
        public var outputs: Int { self == .independence ? 2 : (self == .featureSharing ? 3 : 1) }

        func evaluate(_ x: [Float]) -> [Float] {
            switch self {
            case .independence: [pow(x[0] + x[2], 3), x[1] * x[1] + sin(.pi * x[3])]
            case .featureSharing: [x[0] * x[0], x[0] * x[0] + x[1] * x[1], x[0] * x[0] + x[1] * x[1] + x[2] * x[2]]
            case .compositionality: [((x[0] - x[1]) * (x[0] - x[1]) + (x[2] - x[3]) * (x[2] - x[3])).squareRoot()]
            }
        }
    }

    /// x ~ U[-1, 1]^d; `trainCount` / `testCount` examples.
    public static func symbolic(_ formula: Formula, trainCount: Int = 100, testCount: Int = 100, seed: UInt64) throws
        -> TaskData
    {
        var generator = SeededGenerator(seed: seed)
        func split(_ count: Int, _ name: String) throws -> Dataset {
            let x = generator.uniform(count * formula.inputs)
            let y = (0..<count).flatMap {
                formula.evaluate(Array(x[($0 * formula.inputs)..<(($0 + 1) * formula.inputs)]))
            }
            return try Dataset(
                inputs: x, inputWidth: formula.inputs, targets: .regression(values: y, width: formula.outputs),
                name: name)
        }
        return try TaskData(
            name: formula.rawValue, train: try split(trainCount, "train"), test: try split(testCount, "test"))
    }

    /// scikit-learn's two moons: half the points on the upper unit half-circle, half on the
    /// lower one shifted by (1, -0.5), plus N(0, noise^2) in each coordinate.
    public static func twoMoons(trainCount: Int = 200, testCount: Int = 200, noise: Float = 0.1, seed: UInt64) throws
        -> TaskData
    {
        var generator = SeededGenerator(seed: seed)
        func split(_ count: Int, _ name: String) throws -> Dataset {
            var x: [Float] = [], labels: [Int] = []
            let outer = count / 2, inner = count - outer
            for i in 0..<outer {
                let t = Float.pi * Float(i) / Float(max(1, outer - 1))
                x += [cos(t) + noise * normal(&generator), sin(t) + noise * normal(&generator)]
                labels.append(0)
            }
            for i in 0..<inner {
                let t = Float.pi * Float(i) / Float(max(1, inner - 1))
                x += [1 - cos(t) + noise * normal(&generator), 1 - sin(t) - 0.5 + noise * normal(&generator)]
                labels.append(1)
            }
            return try Dataset(
                inputs: x, inputWidth: 2, targets: .classification(labels: labels, classes: 2), name: name)
        }
        return try TaskData(
            name: "two-moons", train: try split(trainCount, "train"), test: try split(testCount, "test"),
            outputNames: ["moon 1", "moon 2"])
    }

    /// The moduli the modular-addition tasks take (p^2 examples).
    public static let moduli = 2...4096

    static func checkModulus(_ p: Int) throws {
        try SizeLimits.require(p, in: moduli, "task.modulus")
    }

    /// (a, b) -> (a + b) mod p over all p^2 pairs, a seeded `trainFraction` for training.
    public static func modularAddition(modulus p: Int, trainFraction: Double = 0.8, seed: UInt64) throws -> TaskData {
        try checkModulus(p)
        let pairs = (0..<(p * p)).map { ($0 / p, $0 % p) }
        return try tokenTask(
            name: "modadd-\(p)", pairs: pairs, vocabulary: p, classes: p, trainFraction: trainFraction,
            seed: seed
        ) { ($0 + $1) % p }
    }

    /// sigma o tau in the symmetric group S_n (n <= 5) over all pairs; elements are indexed
    /// in lexicographic order of their one-line notation.
    public static func permutationComposition(n: Int, trainFraction: Double = 0.8, seed: UInt64) throws -> TaskData {
        guard (2...5).contains(n) else {
            throw BIMTError.invalidSetting("the symmetric group S_n needs 2 <= n <= 5, got \(n)")
        }
        var elements: [[Int]] = []
        func build(_ prefix: [Int]) {
            if prefix.count == n { elements.append(prefix); return }
            for v in 0..<n where !prefix.contains(v) { build(prefix + [v]) }
        }
        build([])
        let index = Dictionary(uniqueKeysWithValues: elements.enumerated().map { ($1, $0) })
        let count = elements.count
        let pairs = (0..<(count * count)).map { ($0 / count, $0 % count) }
        return try tokenTask(
            name: "s\(n)", pairs: pairs, vocabulary: count, classes: count, trainFraction: trainFraction,
            seed: seed
        ) { s, t in index[elements[t].map { elements[s][$0] }]! }
    }

    /// (a, b) -> label(a, b) over `pairs`, shuffled by `seed` and split `trainFraction` for
    /// training; each example's tokens are a, b, then `suffix` (e.g. an "=" token).
    static func tokenTask(
        name: String, pairs: [(Int, Int)], vocabulary: Int, classes: Int, trainFraction: Double,
        seed: UInt64, suffix: [Int] = [], inputNames: [String] = ["a", "b"], outputNames: [String]? = nil,
        label: (Int, Int) -> Int
    ) throws -> TaskData {
        guard trainFraction > 0, trainFraction < 1 else {
            throw BIMTError.invalidSetting("the train fraction must lie in (0, 1), got \(trainFraction)")
        }
        var generator = SeededGenerator(seed: seed)
        let order = Array(pairs.indices).shuffled(using: &generator)
        let cut = max(1, min(pairs.count - 1, Int((Double(pairs.count) * trainFraction).rounded())))
        func split(_ indices: ArraySlice<Int>, _ part: String) throws -> Dataset {
            try Dataset(
                inputs: indices.flatMap { [pairs[$0].0, pairs[$0].1] + suffix }.map(Float.init),
                inputWidth: 2 + suffix.count,
                targets: .classification(labels: indices.map { label(pairs[$0].0, pairs[$0].1) }, classes: classes),
                vocabulary: vocabulary, name: part)
        }
        return try TaskData(
            name: name, train: try split(order[..<cut], "train"), test: try split(order[cut...], "test"),
            vocabulary: vocabulary, inputNames: inputNames, outputNames: outputNames)
    }

    /// A standard normal sample (Box-Muller).
    static func normal(_ generator: inout SeededGenerator) -> Float {
        let u1 = Float.random(in: Float.ulpOfOne..<1, using: &generator),
            u2 = Float.random(in: 0..<1, using: &generator)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
