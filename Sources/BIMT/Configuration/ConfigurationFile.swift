import Foundation

/// A JSON file of configuration fields applied over a preset. Any subset of the fields of
/// `config.json` may be given, nested objects included; an unknown field or a value of the
/// wrong type is an error naming it.
public enum ConfigurationFile {
    /// Reads the JSON file at `path` and applies it over `base`.
    public static func apply(path: String, over base: TrainingConfiguration) throws -> TrainingConfiguration {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BIMTError.invalidFile(path: path, reason: "cannot be read")
        }
        return try apply(data: data, path: path, over: base)
    }

    /// The same, for bytes already in memory (`path` names them in errors).
    public static func apply(data: Data, path: String, over base: TrainingConfiguration) throws -> TrainingConfiguration
    {
        guard let overrides = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BIMTError.invalidFile(path: path, reason: "is not a JSON object")
        }
        let encoder = JSONEncoder()
        var merged = try JSONSerialization.jsonObject(with: encoder.encode(base)) as! [String: Any]
        try merge(overrides, into: &merged, path: path, prefix: "")
        do {
            return try JSONDecoder().decode(
                TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw BIMTError.invalidFile(path: path, reason: "field '\(field)' must be \(type)")
        } catch let DecodingError.dataCorrupted(context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw BIMTError.invalidFile(path: path, reason: "field '\(field)': \(context.debugDescription)")
        } catch {
            throw BIMTError.invalidFile(path: path, reason: "\(error)")
        }
    }

    /// Known optional fields absent from an encoded preset (nil values are not encoded).
    static let optionalFields: Set<String> = [
        "preset", "batchSize", "biasPenaltyFrom", "cost.lastWeightFactor", "relocationCost.lastWeightFactor",
        "noPenalizeLast", "architecture.embedding", "task.modulus", "task.groupSize", "task.path", "task.vocabulary",
        "architecture.embedding.vocabulary", "architecture.embedding.dimension", "architecture.embedding.folds",
        "convolution", "convolution.imageHeight", "convolution.imageWidth", "convolution.imageChannels",
        "convolution.channels",
        "convolution.kernelSize", "convolution.pool", "convolution.poolSize",
        "transformer", "transformer.layers", "transformer.width", "transformer.heads", "transformer.context",
        "transformer.vocabulary",
        "transformer.inputFeatures", "transformer.outputs", "transformer.mlpRatio", "transformer.lastPositionOnly",
        "transformer.predictedOutputs",
        "learningRateSchedule", "learningRateSchedule.warmupSteps", "learningRateSchedule.minimumLearningRate",
        "learningRateSchedule.decaySteps", "gradientClip", "beta1", "beta2", "weightDecayScope", "accumulationSteps",
        "evalBatches",
        "snapshotBudget", "batchSampling", "validationExamples", "precision",
    ]

    static func merge(_ overrides: [String: Any], into base: inout [String: Any], path: String, prefix: String) throws {
        for (key, value) in overrides {
            let field = prefix.isEmpty ? key : prefix + "." + key
            guard base[key] != nil || optionalFields.contains(field) else {
                throw BIMTError.invalidFile(path: path, reason: "unknown field '\(field)'")
            }
            if let nested = value as? [String: Any], var existing = base[key] as? [String: Any] {
                try merge(nested, into: &existing, path: path, prefix: field)
                base[key] = existing
            } else {
                base[key] = value
            }
        }
    }
}
