import BIMT
import Foundation

/// One live line on a terminal (step/total, loss, cost, steps/s, ETA); plain periodic lines otherwise.
final class ProgressLine {
    let total: Int
    let quiet: Bool
    let live = isatty(STDERR_FILENO) != 0

    init(total: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
    }

    func report(_ m: TrainingMetrics) {
        guard !quiet else { return }
        let rate = Double(m.step) / max(m.seconds, 1e-9)
        let eta = Double(total - m.step) / max(rate, 1e-9)
        var text = String(format: "step %d/%d  loss %.4g  test %.4g", m.step, total, m.trainLoss, m.testLoss)
        if let a = m.testAccuracy { text += String(format: "  acc %.1f%%", 100 * a) }
        text += String(format: "  cost %.4g  %.0f steps/s  ETA %.0fs", m.cost, rate, eta)
        if live {
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
        } else {
            printError(text)
        }
    }

    func finish() {
        if live && !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
