import ArgumentParser
import Foundation

/// A failure while running (a file that cannot be read, a run that diverged, a device that
/// cannot be opened): printed as "Error: ..." without the usage text, exit status 1. Bad
/// flags and values are `ValidationError`s (usage text, exit status 64).
struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One line to standard error, in one write (the ranks of an MPI run share the stream).
func printError(_ text: String) {
    var standardError = StandardError()
    standardError.write(text + "\n")
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
