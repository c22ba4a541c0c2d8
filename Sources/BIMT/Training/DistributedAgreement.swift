import BIMTCompute
import CZlib
import Foundation

/// What the ranks of a data-parallel run must agree on: which share of each batch is whose,
/// the relocation (planned on rank 0 for all), when to stop, and that every rank still holds
/// the same parameters. Without a group of several processes every answer is this process's own.
struct DistributedAgreement {
    /// The processes of the run (nil: this process alone).
    let group: (any ProcessGroup)?

    /// The group when it has other ranks.
    private var others: (any ProcessGroup)? { group.flatMap { $0.size > 1 ? $0 : nil } }

    /// This rank's contiguous share of a globally drawn batch (all of it without a group).
    func share(of batch: [Int]) -> [Int] {
        guard let group = others else { return batch }
        return Array(batch[group.share(of: batch.count)])
    }

    /// Rank 0 decides each group's swaps of the relocation after `step` and broadcasts them;
    /// the other ranks apply them without scoring (nil without a group: every decision is made here).
    func relocationDecider(at step: Int) -> SpatialGeometry.RelocationDecider? {
        guard let group = others else { return nil }
        return { index, units, plan in
            // [status, units...] as Int64; status 1 carries rank 0's error text instead.
            let width = max(8 * (units + 1), 1024)
            var bytes = [UInt8](repeating: 0, count: width)
            var failure: Error?
            if group.rank == 0 {
                do {
                    let decided = try plan()
                    bytes.withUnsafeMutableBytes { raw in
                        raw.storeBytes(of: Int64(0), toByteOffset: 0, as: Int64.self)
                        for (i, unit) in decided.enumerated() {
                            raw.storeBytes(of: Int64(unit), toByteOffset: 8 * (i + 1), as: Int64.self)
                        }
                    }
                } catch {
                    failure = error
                    let text = Array("\(error)".utf8.prefix(width - 9))
                    bytes[0] = 1
                    bytes.replaceSubrange(8..<(8 + text.count), with: text)
                }
            }
            let received = try group.broadcast(
                bytes, root: 0,
                "the relocation plan of swap group \(index) at step \(step)")
            if let failure { throw failure }
            if received[0] != 0 {
                throw BIMTError.distributed(
                    "rank 0 could not plan the relocation at step \(step): "
                        + String(decoding: received[8...].prefix { $0 != 0 }, as: UTF8.self))
            }
            return received.withUnsafeBytes { raw in
                (0..<units).map { Int(raw.loadUnaligned(fromByteOffset: 8 * ($0 + 1), as: Int64.self)) }
            }
        }
    }

    /// Whether to stop before the step after `step`: any rank asked (a signal reaches the ranks
    /// at different moments), so all stop after the same step.
    func agreedStop(_ requested: Bool, after step: Int) throws -> Bool {
        guard let group = others else { return requested }
        return try group.sum([requested ? 1 : 0], "the stop check before step \(step + 1)")[0] > 0
    }

    /// Throws on every rank when the ranks' parameters, AdamW moments or arrangements differ
    /// (a CRC-32 of each, compared at every log step).
    func requireSameState(of model: any TrainableModel, at step: Int) throws {
        guard let group = others else { return }
        var crc: UInt = 0
        for buffer in [model.parameters, model.firstMoments, model.secondMoments] {
            let values = try model.device.read(buffer.whole)
            values.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let length = min(raw.count - offset, 1 << 30)
                    let start = raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self)
                    crc = crc32(crc, start, uInt(length))
                    offset += length
                }
            }
        }
        let arrangement = model.network.permutations.map { $0.map(String.init).joined(separator: ",") }
            .joined(separator: ";")
        let fingerprint = fnv1a64(withUnsafeBytes(of: UInt64(crc).littleEndian) { Array($0) } + Array(arrangement.utf8))
        do {
            try group.requireSame(fingerprint, "the parameters, optimizer state and arrangement at step \(step)")
        } catch let BIMTError.distributed(text) {
            throw BIMTError.distributed(
                text
                    + ": the ranks have drifted apart (mixed device types, or a fault); stopping")
        }
    }
}

extension TrainingOptions {
    /// Throws unless every batch splits evenly over `ranks` processes (and each share into
    /// `accumulationSteps` micro-batches); a full-batch run needs the training examples to.
    public func checkSplit(over ranks: Int, trainingExamples: Int, windowed: Bool) throws {
        guard ranks > 1 else { return }
        if let batchSize, windowed || batchSize < trainingExamples {
            guard batchSize % (ranks * accumulationSteps) == 0 else {
                let unit = ranks * accumulationSteps
                throw BIMTError.invalidField(
                    field: "batchSize",
                    reason:
                        "a batch of \(batchSize) does not split evenly over \(ranks) ranks"
                        + (accumulationSteps > 1 ? " x \(accumulationSteps) micro-batches" : "")
                        + "; use a multiple of \(unit) (e.g. \(max(unit, batchSize / unit * unit))) "
                        + "or another rank count"
                )
            }
        } else {
            guard trainingExamples % (ranks * accumulationSteps) == 0 else {
                throw BIMTError.invalidField(
                    field: "batchSize",
                    reason:
                        "a full-batch run's \(trainingExamples) training examples "
                        + "do not split evenly over \(ranks) ranks; "
                        + "set a batch size that is a multiple of \(ranks) or use another rank count")
            }
        }
    }
}
