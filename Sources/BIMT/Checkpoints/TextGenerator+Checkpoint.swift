import BIMTCompute
import Foundation

extension TextGenerator {
    /// Loads a character model's checkpoint (no text file needed: the vocabulary is in it).
    public convenience init(checkpoint url: URL, device: Device) throws {
        let trained = try TrainedModel.load(checkpoint: url, device: device)
        let languageTask =
            switch trained.configuration.task {
            case .text, .tokenFiles: true
            default: false
            }
        guard languageTask, let gpt = trained.model as? GPT, gpt.architecture.vocabulary != nil,
            !gpt.architecture.lastPositionOnly
        else {
            throw BIMTError.invalidSetting(
                "\(url.path) is not a language model (one trained on a text task, as the "
                    + "charlm preset is, or on token files)")
        }
        let vocabulary = trained.inputNames
        guard vocabulary.count == gpt.architecture.vocabulary, gpt.architecture.outputs == vocabulary.count else {
            throw BIMTError.invalidFile(
                path: url.path,
                reason: "its vocabulary of \(vocabulary.count) does not match "
                    + "the model's \(gpt.architecture.vocabulary ?? 0)")
        }
        if let (first, second) = TokenFiles.firstDuplicate(vocabulary) {
            throw BIMTError.invalidFile(
                path: url.path,
                reason: "its vocabulary names ids \(first) and \(second) both "
                    + "'\(vocabulary[first])', so a prompt cannot be encoded; retrain with "
                    + "distinct token names")
        }
        self.init(model: gpt, vocabulary: vocabulary)
    }
}
