import Foundation
import Synchronization

/// The first SIGINT or SIGTERM asks a run to stop after its current step (it then writes a
/// checkpoint). A second signal, or a stop that has not completed within `timeout` seconds
/// (a step that never ends), ends the process at once with status 128 + the signal: the
/// last checkpoint was written atomically and stays valid.
final class StopSignals: @unchecked Sendable {
    private let flag = Mutex(false)
    private var sources: [DispatchSourceSignal] = []

    init(timeout: Double = 30) {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { // lives as long as the process
                let first = self.flag.withLock { requested in
                    defer { requested = true }
                    return !requested
                }
                guard first else { Self.exitNow("a second signal", number) }
                DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                    Self.exitNow("the stop did not complete within \(timeout) s", number)
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    var requested: Bool { flag.withLock { $0 } }

    private static func exitNow(_ reason: String, _ number: Int32) -> Never {
        FileHandle.standardError.write(Data("\nbimt: \(reason): exiting now; the last checkpoint is intact\n".utf8))
        _exit(128 + number)
    }
}
