import BIMTCompute

/// The few floats a training step and an evaluation sum into on the device, each a named
/// one-float view of one small buffer: only these come back to the host, at log steps.
struct Accumulators {
    /// Every slot at once: cleared together, and saved and restored around an evaluation.
    let all: BufferSlice
    /// The mean loss of a batch (added up over its micro-batches) or of an evaluation chunk.
    let loss: BufferSlice
    /// Correct predictions (classification).
    let correct: BufferSlice
    /// The connection cost, without lambda.
    let cost: BufferSlice
    /// Where the accuracy pass of an MSE classifier leaves its cross-entropy (never read).
    let scratchLoss: BufferSlice
    /// The whole gradient's squared norm, which AdamW reads when it clips.
    let squaredGradientNorm: BufferSlice

    /// What comes back to the host.
    struct Values {
        var loss: Float
        var correct: Float
        var cost: Float
    }

    init(device: Device) throws {
        let buffer = try device.makeBuffer([Float](repeating: 0, count: 5))
        var next = 0
        func slot() -> BufferSlice {
            defer { next += 1 }
            return buffer.slice(offset: next, count: 1)
        }
        all = buffer.whole
        loss = slot()
        correct = slot()
        cost = slot()
        scratchLoss = slot()
        squaredGradientNorm = slot()
    }

    /// The loss, hits and cost, in one read of the buffer.
    func read(on device: Device) throws -> Values {
        let values = try device.read(all)
        func value(_ slot: BufferSlice) -> Float { values[slot.offset - all.offset] }
        return Values(loss: value(loss), correct: value(correct), cost: value(cost))
    }
}
